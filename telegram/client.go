package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// APIError is an answer of the Bot API with "ok": false, or a failure to
// reach it. Its text never holds the bot token: the token is part of every
// request URL, and net/http puts the URL in its errors.
type APIError struct {
	Method      string
	Code        int    // error_code (an HTTP status); 0 when the API was not reached
	Description string // the API's description, or what went wrong on the way
	RetryAfter  time.Duration
	// done marks a request the API carried out (its result was not what
	// the bridge expected): trying again would do it twice.
	done bool
}

func (e *APIError) Error() string {
	if e.Code == 0 {
		return fmt.Sprintf("telegram: %s: %s", e.Method, e.Description)
	}
	return fmt.Sprintf("telegram: %s: %d %s", e.Method, e.Code, e.Description)
}

// temporary reports whether trying again later may succeed.
func (e *APIError) temporary() bool {
	if e.done {
		return false
	}
	return e.Code == 0 || e.Code == http.StatusTooManyRequests || e.Code >= 500
}

// client calls Bot API methods with JSON bodies.
type client struct {
	base  string // api_url without a trailing slash
	token string
	http  *http.Client
	// sleep waits d or until ctx is done; tests replace it to observe the
	// waits without spending them.
	sleep func(ctx context.Context, d time.Duration) error
	// attempts bounds the tries of one call (network failures, 5xx, 429).
	attempts int
	// maxBackoff caps the wait between tries after a network failure.
	maxBackoff time.Duration
	// maxRetryAfter caps an honoured 429 retry_after.
	maxRetryAfter time.Duration
	// pollTimeout is getUpdates' long-poll time, which its requests may
	// take beyond requestTimeout.
	pollTimeout time.Duration
}

// requestTimeout bounds one request (a stalled connection is a network
// failure, retried like one).
const requestTimeout = 30 * time.Second

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type apiResponse struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  *struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
}

// call runs method with params, retrying what a later try may fix: network
// failures and 5xx with a capped exponential backoff, 429 after the API's
// retry_after. It gives up after c.attempts tries, or when ctx is done
// (then it returns ctx.Err()).
func (c *client) call(ctx context.Context, method string, params, result any) error {
	var last *APIError
	backoff := 250 * time.Millisecond
	for try := 0; try < c.attempts; try++ {
		err := c.once(ctx, method, params, result)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ae *APIError
		if !errors.As(err, &ae) || !ae.temporary() {
			return err
		}
		last = ae
		if try == c.attempts-1 {
			break
		}
		wait := backoff + rand.N(backoff/2)
		if ae.Code == http.StatusTooManyRequests {
			wait = ae.RetryAfter
			if wait <= 0 {
				wait = time.Second
			}
			if wait > c.maxRetryAfter {
				wait = c.maxRetryAfter
			}
		} else {
			backoff = min(backoff*2, c.maxBackoff)
		}
		if err := c.sleep(ctx, wait); err != nil {
			return err
		}
	}
	return last
}

// once makes one request.
func (c *client) once(ctx context.Context, method string, params, result any) error {
	body, err := json.Marshal(params)
	if err != nil {
		return &APIError{Method: method, Description: "cannot encode the request: " + err.Error()}
	}
	timeout := requestTimeout
	if method == "getUpdates" {
		timeout += c.pollTimeout
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(tctx, http.MethodPost, c.base+"/bot"+c.token+"/"+method, bytes.NewReader(body))
	if err != nil {
		return &APIError{Method: method, Description: c.scrub(err.Error())}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if tctx.Err() != nil {
			return &APIError{Method: method, Description: "no answer within " + timeout.String()}
		}
		return &APIError{Method: method, Description: c.describe(err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if tctx.Err() != nil {
			return &APIError{Method: method, Description: "no answer within " + timeout.String()}
		}
		return &APIError{Method: method, Description: "reading the answer: " + c.describe(err)}
	}
	var r apiResponse
	if err := json.Unmarshal(data, &r); err != nil {
		// Not the Bot API (a proxy's error page, a wrong api_url): say so
		// by status; the body is not repeated.
		d := &APIError{Method: method, Description: fmt.Sprintf("the server answered HTTP %d with no Bot API response", resp.StatusCode)}
		if resp.StatusCode >= 500 {
			d.Code = resp.StatusCode
		}
		return d
	}
	if !r.OK {
		code := r.ErrorCode
		if code == 0 {
			code = resp.StatusCode
		}
		e := &APIError{Method: method, Code: code, Description: c.scrub(r.Description)}
		if r.Parameters != nil && r.Parameters.RetryAfter > 0 {
			e.RetryAfter = time.Duration(r.Parameters.RetryAfter) * time.Second
		}
		return e
	}
	if result != nil {
		if err := json.Unmarshal(r.Result, result); err != nil {
			return &APIError{Method: method, Description: "unexpected result: " + c.scrub(err.Error()), done: true}
		}
	}
	return nil
}

// describe turns a transport error into text without the request URL.
func (c *client) describe(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return c.scrub(err.Error())
}

// scrub removes the token, in every spelling a URL may give it, from s.
func (c *client) scrub(s string) string {
	if c.token == "" {
		return s
	}
	for _, form := range []string{c.token, url.PathEscape(c.token), url.QueryEscape(c.token)} {
		s = strings.ReplaceAll(s, form, "<token>")
	}
	return s
}
