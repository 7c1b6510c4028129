package botapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

const token = "42:test-token_x"

var user = User{ID: 7, FirstName: "Ann", Username: "ann"}

type answer struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
}

func do(t *testing.T, req *http.Request) (answer, int) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	if !a.OK && a.ErrorCode != resp.StatusCode {
		t.Errorf("error_code %d but HTTP %d", a.ErrorCode, resp.StatusCode)
	}
	return a, resp.StatusCode
}

func postJSON(t *testing.T, s *Server, method string, body any) answer {
	t.Helper()
	data, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", s.URL()+"/bot"+s.Token+"/"+method, bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	a, _ := do(t, req)
	return a
}

func postForm(t *testing.T, s *Server, method string, v url.Values) answer {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL()+"/bot"+s.Token+"/"+method, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	a, _ := do(t, req)
	return a
}

func postMultipart(t *testing.T, s *Server, method string, v map[string]string) answer {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, val := range v {
		w.WriteField(k, val)
	}
	w.Close()
	req, _ := http.NewRequest("POST", s.URL()+"/bot"+s.Token+"/"+method, &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	a, _ := do(t, req)
	return a
}

func started(t *testing.T) *Server {
	s := New(token)
	t.Cleanup(s.Close)
	s.Send(user, "/start")
	return s
}

func TestRequestShapes(t *testing.T) {
	s := started(t)
	kb := `{"inline_keyboard":[[{"text":"Yes","callback_data":"o:1"}]]}`
	for name, send := range map[string]func() answer{
		"json": func() answer {
			return postJSON(t, s, "sendMessage", map[string]any{"chat_id": 7, "text": "<b>hi</b>", "parse_mode": "HTML",
				"reply_markup": json.RawMessage(kb)})
		},
		"form": func() answer {
			return postForm(t, s, "sendMessage", url.Values{"chat_id": {"7"}, "text": {"<b>hi</b>"}, "parse_mode": {"HTML"}, "reply_markup": {kb}})
		},
		"multipart": func() answer {
			return postMultipart(t, s, "SENDMESSAGE", map[string]string{"chat_id": "7", "text": "<b>hi</b>", "parse_mode": "HTML", "reply_markup": kb})
		},
		"query": func() answer {
			req, _ := http.NewRequest("GET", s.URL()+"/bot"+token+"/sendMessage?"+url.Values{"chat_id": {"7"}, "text": {"<b>hi</b>"}, "parse_mode": {"HTML"}, "reply_markup": {kb}}.Encode(), nil)
			a, _ := do(t, req)
			return a
		},
	} {
		a := send()
		var m Message
		if !a.OK || json.Unmarshal(a.Result, &m) != nil || m.Text != "hi" || m.Chat.ID != 7 {
			t.Errorf("%s: %+v", name, a)
			continue
		}
		if b, ok := m.Button("o:1"); !ok || b.Text != "Yes" {
			t.Errorf("%s: keyboard %+v", name, m.ReplyMarkup)
		}
	}
	if n := len(s.Messages(7)); n != 4 {
		t.Errorf("%d bot messages, want 4", n)
	}
}

func TestTokenAndMethodChecks(t *testing.T) {
	s := started(t)
	req, _ := http.NewRequest("POST", s.URL()+"/botWRONG/getMe", nil)
	if a, code := do(t, req); code != 401 || a.Description != "Unauthorized" {
		t.Errorf("wrong token: %d %+v", code, a)
	}
	req, _ = http.NewRequest("POST", s.URL()+"/bot"+token+"/noSuchMethod", nil)
	if _, code := do(t, req); code != 404 {
		t.Errorf("unknown method: %d", code)
	}
	var me User
	a := postJSON(t, s, "getMe", nil)
	if json.Unmarshal(a.Result, &me) != nil || !me.IsBot || me.ID != 42 || me.Username == "" {
		t.Errorf("getMe: %+v", a)
	}
}

func TestGetUpdatesOffsetAndLongPoll(t *testing.T) {
	s := New(token)
	defer s.Close()
	s.Send(user, "one")
	s.Send(user, "two")
	var ups []Update
	a := postJSON(t, s, "getUpdates", map[string]any{"timeout": 0})
	json.Unmarshal(a.Result, &ups)
	if len(ups) != 2 || ups[0].Message.Text != "one" || ups[1].UpdateID != ups[0].UpdateID+1 {
		t.Fatalf("getUpdates: %+v", ups)
	}
	// Without a higher offset, the same updates come again.
	a = postJSON(t, s, "getUpdates", map[string]any{"timeout": 0})
	json.Unmarshal(a.Result, &ups)
	if len(ups) != 2 {
		t.Fatalf("unconfirmed updates were dropped: %+v", ups)
	}
	next := ups[1].UpdateID + 1
	// A long poll returns as soon as an update arrives.
	got := make(chan []Update, 1)
	go func() {
		var u []Update
		a := postForm(t, s, "getUpdates", url.Values{"offset": {itoa(next)}, "timeout": {"30"}})
		json.Unmarshal(a.Result, &u)
		got <- u
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.WaitUntil(ctx, func() bool { return len(s.Calls("getUpdates")) == 3 && s.Pending() == 0 })
	s.Send(user, "three")
	select {
	case u := <-got:
		if len(u) != 1 || u[0].Message.Text != "three" || u[0].UpdateID != next {
			t.Errorf("long poll: %+v", u)
		}
	case <-ctx.Done():
		t.Fatal("the long poll did not return with the new update")
	}
	if s.Pending() != 1 {
		t.Errorf("%d pending updates, want 1 (\"three\", not yet confirmed)", s.Pending())
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestGetUpdatesConflicts(t *testing.T) {
	s := New(token)
	defer s.Close()
	s.SetWebhook("https://example.net/hook")
	if a := postJSON(t, s, "getUpdates", map[string]any{}); a.ErrorCode != 409 {
		t.Errorf("getUpdates with a webhook: %+v", a)
	}
	postJSON(t, s, "deleteWebhook", map[string]any{})
	first := make(chan answer, 1)
	go func() { first <- postJSON(t, s, "getUpdates", map[string]any{"timeout": 30}) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.WaitUntil(ctx, func() bool { return len(s.Calls("getUpdates")) == 2 })
	// The second poll is waited for too: left running, the deferred
	// Close cut it off (EOF) about once in a hundred runs.
	second := make(chan answer, 1)
	go func() { second <- postJSON(t, s, "getUpdates", map[string]any{"timeout": 0}) }()
	select {
	case a := <-first:
		if a.ErrorCode != 409 || !strings.Contains(a.Description, "terminated by other getUpdates request") {
			t.Errorf("the first poll ended with %+v", a)
		}
	case <-ctx.Done():
		t.Fatal("a second poll did not end the first")
	}
	select {
	case a := <-second:
		if !a.OK || string(a.Result) != "[]" {
			t.Errorf("the second poll ended with %+v", a)
		}
	case <-ctx.Done():
		t.Fatal("the second poll did not end")
	}
}

func TestSendMessageRefusals(t *testing.T) {
	s := started(t)
	stranger := User{ID: 8, FirstName: "Never"}
	s.AddUser(stranger)
	for _, tc := range []struct {
		params map[string]any
		code   int
		desc   string
	}{
		{map[string]any{"chat_id": 8, "text": "hi"}, 403, "bot can't initiate conversation with a user"},
		{map[string]any{"chat_id": 99, "text": "hi"}, 400, "chat not found"},
		{map[string]any{"chat_id": 7, "text": ""}, 400, "message text is empty"},
		{map[string]any{"chat_id": 7, "text": "a <x> b", "parse_mode": "HTML"}, 400, "can't parse entities"},
		{map[string]any{"chat_id": 7, "text": "<b>a", "parse_mode": "HTML"}, 400, "can't parse entities"},
		{map[string]any{"chat_id": 7, "text": "a & b", "parse_mode": "HTML"}, 400, "can't parse entities"},
		{map[string]any{"chat_id": 7, "text": strings.Repeat("x", 4097)}, 400, "message is too long"},
		{map[string]any{"chat_id": 7, "text": "k", "reply_markup": map[string]any{"inline_keyboard": [][]map[string]string{{{"text": "b", "callback_data": strings.Repeat("d", 65)}}}}}, 400, "BUTTON_DATA_INVALID"},
		{map[string]any{"chat_id": 7, "text": "k", "reply_markup": map[string]any{"inline_keyboard": [][]map[string]string{{{"text": "b"}}}}}, 400, "Text buttons are unallowed"},
	} {
		a := postJSON(t, s, "sendMessage", tc.params)
		if a.OK || a.ErrorCode != tc.code || !strings.Contains(a.Description, tc.desc) {
			t.Errorf("sendMessage %v: %+v, want %d %q", tc.params, a, tc.code, tc.desc)
		}
	}
	s.Block(user)
	if a := postJSON(t, s, "sendMessage", map[string]any{"chat_id": 7, "text": "hi"}); a.ErrorCode != 403 || !strings.Contains(a.Description, "blocked") {
		t.Errorf("blocked: %+v", a)
	}
}

func TestEditsAndCallbackAnswers(t *testing.T) {
	s := started(t)
	kb := map[string]any{"inline_keyboard": [][]map[string]string{{{"text": "Yes", "callback_data": "o:1"}}}}
	var m Message
	json.Unmarshal(postJSON(t, s, "sendMessage", map[string]any{"chat_id": 7, "text": "card", "reply_markup": kb}).Result, &m)
	// Unchanged text and keyboard: "not modified".
	if a := postJSON(t, s, "editMessageText", map[string]any{"chat_id": 7, "message_id": m.MessageID, "text": "card", "reply_markup": kb}); a.ErrorCode != 400 || !strings.Contains(a.Description, "message is not modified") {
		t.Errorf("no-op edit: %+v", a)
	}
	// A click, answered once; a second answer is refused.
	q, err := s.Click(user, m, "o:1")
	if err != nil {
		t.Fatal(err)
	}
	if a := postJSON(t, s, "answerCallbackQuery", map[string]any{"callback_query_id": q, "text": "ok", "show_alert": true}); !a.OK {
		t.Errorf("answer: %+v", a)
	}
	ans, _ := s.Answer(context.Background(), q)
	if ans.Text != "ok" || !ans.ShowAlert {
		t.Errorf("recorded answer %+v", ans)
	}
	if a := postJSON(t, s, "answerCallbackQuery", map[string]any{"callback_query_id": q}); a.ErrorCode != 400 {
		t.Errorf("second answer: %+v", a)
	}
	// An edit without reply_markup drops the keyboard.
	if a := postJSON(t, s, "editMessageText", map[string]any{"chat_id": 7, "message_id": m.MessageID, "text": "done"}); !a.OK {
		t.Fatalf("edit: %+v", a)
	}
	cur, _ := s.Message(7, m.MessageID)
	if cur.Text != "done" || cur.ReplyMarkup != nil || s.Edits(7, m.MessageID) != 1 {
		t.Errorf("after the edit: %+v", cur)
	}
	if _, err := s.Click(user, cur, "o:1"); err == nil {
		t.Error("a removed button could be clicked")
	}
	// editMessageReplyMarkup with an empty keyboard on a message without
	// one: not modified.
	if a := postJSON(t, s, "editMessageReplyMarkup", map[string]any{"chat_id": 7, "message_id": m.MessageID, "reply_markup": map[string]any{"inline_keyboard": [][]any{}}}); a.ErrorCode != 400 {
		t.Errorf("no-op markup edit: %+v", a)
	}
	// The user's own message cannot be edited by the bot.
	if a := postJSON(t, s, "editMessageText", map[string]any{"chat_id": 7, "message_id": 1, "text": "x"}); a.ErrorCode != 400 {
		t.Errorf("editing the user's message: %+v", a)
	}
}

func TestFaults(t *testing.T) {
	s := started(t)
	s.Fail("getMe", RateLimit(5))
	a := postJSON(t, s, "getMe", nil)
	if a.ErrorCode != 429 || a.Parameters.RetryAfter != 5 {
		t.Errorf("rate limit: %+v", a)
	}
	if a := postJSON(t, s, "getMe", nil); !a.OK {
		t.Errorf("after the fault: %+v", a)
	}
	s.Fail("getMe", Fault{Drop: true})
	req, _ := http.NewRequest("POST", s.URL()+"/bot"+token+"/getMe", nil)
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Error("a dropped connection gave an answer")
	}
}
