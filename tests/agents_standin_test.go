package tests

// Local stand-ins for the model APIs of the agent CLIs, on loopback. Each
// speaks the real wire shape its agent uses (Anthropic Messages with
// tool_use blocks over SSE, Gemini streamGenerateContent with a
// functionCall part, OpenAI Responses with a function_call item) and
// plays a model that makes exactly one shell tool call, then reports the
// tool's result back to the test and ends the turn.

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// model is a stand-in model: it asks for one shell command and records
// what the agent sent back as the tool's result.
type model struct {
	t       *testing.T
	command string // the shell command the model asks for
	// execArgs are more arguments of Codex's exec_command call (set
	// before the agent starts).
	execArgs map[string]any
	srv      *http.Server
	url      string

	mu       sync.Mutex
	results  []string // tool results the agent returned, as text
	requests []string // paths requested
}

func startModel(t *testing.T, command string, handler func(*model) http.Handler) *model {
	t.Helper()
	m := &model{t: t, command: command}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m.url = "http://" + ln.Addr().String()
	m.srv = &http.Server{Handler: handler(m)}
	go m.srv.Serve(ln)
	t.Cleanup(func() { m.srv.Close() })
	return m
}

func (m *model) addResult(s string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.results = append(m.results, s)
}

func (m *model) addRequest(s string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests = append(m.requests, s)
}

// toolResults is everything the agent reported back, joined.
func (m *model) toolResults() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return strings.Join(m.results, "\n---\n")
}

func sse(w http.ResponseWriter, events ...[2]string) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	for _, e := range events {
		if e[0] != "" {
			fmt.Fprintf(w, "event: %s\n", e[0])
		}
		fmt.Fprintf(w, "data: %s\n\n", e[1])
	}
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// anthropic is the Messages API (POST /v1/messages) as Claude Code uses
// it: streamed, with tool_use content blocks and tool_result replies.
func anthropic(m *model) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.addRequest(r.URL.Path)
		if !strings.HasPrefix(r.URL.Path, "/v1/messages") {
			http.Error(w, `{"type":"error","error":{"type":"not_found_error","message":"stand-in"}}`, 404)
			return
		}
		if strings.HasSuffix(r.URL.Path, "/count_tokens") {
			io.WriteString(w, `{"input_tokens":10}`)
			return
		}
		var req struct {
			Stream   bool `json:"stream"`
			Messages []struct {
				Role    string          `json:"role"`
				Content json.RawMessage `json:"content"`
			} `json:"messages"`
			Tools []struct {
				Name string `json:"name"`
			} `json:"tools"`
		}
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		hasBash := false
		for _, t := range req.Tools {
			hasBash = hasBash || t.Name == "Bash"
		}
		sawResult := false
		for _, msg := range req.Messages {
			var blocks []struct {
				Type    string          `json:"type"`
				Content json.RawMessage `json:"content"`
				IsError bool            `json:"is_error"`
			}
			if json.Unmarshal(msg.Content, &blocks) != nil {
				continue
			}
			for _, b := range blocks {
				sawResult = sawResult || b.Type == "tool_result"
			}
		}
		// Record the results of the last message only (each turn once).
		if n := len(req.Messages); n > 0 && hasBash {
			var blocks []struct {
				Type    string          `json:"type"`
				Content json.RawMessage `json:"content"`
				IsError bool            `json:"is_error"`
			}
			if json.Unmarshal(req.Messages[n-1].Content, &blocks) == nil {
				for _, b := range blocks {
					if b.Type == "tool_result" {
						m.addResult(fmt.Sprintf("is_error=%v %s", b.IsError, textOf(b.Content)))
					}
				}
			}
		}
		msgStart := mustJSON(map[string]any{"type": "message_start", "message": map[string]any{
			"id": "msg_standin", "type": "message", "role": "assistant", "model": "claude-standin",
			"content": []any{}, "stop_reason": nil, "stop_sequence": nil,
			"usage": map[string]any{"input_tokens": 10, "output_tokens": 1},
		}})
		if hasBash && !sawResult {
			input := mustJSON(map[string]any{"command": m.command, "description": "run the command"})
			if !req.Stream {
				io.WriteString(w, mustJSON(map[string]any{"id": "msg_standin", "type": "message", "role": "assistant", "model": "claude-standin",
					"content":     []any{map[string]any{"type": "tool_use", "id": "toolu_standin1", "name": "Bash", "input": json.RawMessage(input)}},
					"stop_reason": "tool_use", "usage": map[string]any{"input_tokens": 10, "output_tokens": 5}}))
				return
			}
			sse(w,
				[2]string{"message_start", msgStart},
				[2]string{"content_block_start", mustJSON(map[string]any{"type": "content_block_start", "index": 0, "content_block": map[string]any{"type": "tool_use", "id": "toolu_standin1", "name": "Bash", "input": map[string]any{}}})},
				[2]string{"content_block_delta", mustJSON(map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]any{"type": "input_json_delta", "partial_json": input}})},
				[2]string{"content_block_stop", `{"type":"content_block_stop","index":0}`},
				[2]string{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":5}}`},
				[2]string{"message_stop", `{"type":"message_stop"}`},
			)
			return
		}
		text := "done"
		if !req.Stream {
			io.WriteString(w, mustJSON(map[string]any{"id": "msg_standin", "type": "message", "role": "assistant", "model": "claude-standin",
				"content": []any{map[string]any{"type": "text", "text": text}}, "stop_reason": "end_turn",
				"usage": map[string]any{"input_tokens": 10, "output_tokens": 1}}))
			return
		}
		sse(w,
			[2]string{"message_start", msgStart},
			[2]string{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`},
			[2]string{"content_block_delta", mustJSON(map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]any{"type": "text_delta", "text": text}})},
			[2]string{"content_block_stop", `{"type":"content_block_stop","index":0}`},
			[2]string{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":1}}`},
			[2]string{"message_stop", `{"type":"message_stop"}`},
		)
	})
}

// textOf flattens a tool_result content: a string or a list of blocks.
func textOf(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var blocks []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &blocks) == nil {
		var parts []string
		for _, b := range blocks {
			parts = append(parts, b.Text)
		}
		return strings.Join(parts, "\n")
	}
	return string(raw)
}

// gemini is the Gemini API as Gemini CLI uses it
// (POST /v1beta/models/MODEL:streamGenerateContent?alt=sse): one
// functionCall of run_shell_command, then text after its
// functionResponse.
func gemini(m *model) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.addRequest(r.URL.Path)
		body, _ := io.ReadAll(r.Body)
		if strings.HasSuffix(r.URL.Path, ":countTokens") {
			io.WriteString(w, `{"totalTokens":10}`)
			return
		}
		if !strings.Contains(r.URL.Path, ":generateContent") && !strings.Contains(r.URL.Path, ":streamGenerateContent") {
			http.Error(w, `{"error":{"code":404,"message":"stand-in","status":"NOT_FOUND"}}`, 404)
			return
		}
		var req struct {
			Contents []struct {
				Role  string `json:"role"`
				Parts []struct {
					Text             string          `json:"text"`
					FunctionResponse json.RawMessage `json:"functionResponse"`
				} `json:"parts"`
			} `json:"contents"`
			Tools []struct {
				FunctionDeclarations []struct {
					Name string `json:"name"`
				} `json:"functionDeclarations"`
			} `json:"tools"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		hasShell := false
		for _, t := range req.Tools {
			for _, f := range t.FunctionDeclarations {
				hasShell = hasShell || f.Name == "run_shell_command"
			}
		}
		sawResult := false
		for i, c := range req.Contents {
			for _, p := range c.Parts {
				if len(p.FunctionResponse) > 0 {
					sawResult = true
					if i == len(req.Contents)-1 {
						m.addResult(string(p.FunctionResponse))
					}
				}
			}
		}
		var cand map[string]any
		if hasShell && !sawResult {
			cand = map[string]any{"content": map[string]any{"role": "model", "parts": []any{
				map[string]any{"functionCall": map[string]any{"name": "run_shell_command", "args": map[string]any{"command": m.command, "description": "run the command"}}},
			}}, "finishReason": "STOP", "index": 0}
		} else {
			cand = map[string]any{"content": map[string]any{"role": "model", "parts": []any{map[string]any{"text": "done"}}}, "finishReason": "STOP", "index": 0}
		}
		resp := mustJSON(map[string]any{"candidates": []any{cand}, "usageMetadata": map[string]any{"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15}, "modelVersion": "gemini-standin"})
		if strings.Contains(r.URL.Path, ":streamGenerateContent") {
			sse(w, [2]string{"", resp})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, resp)
	})
}

// agentCLI finds an agent CLI installed from npm: on PATH, or in
// HERMES_AGENTS_DIR/node_modules/.bin (where .ci/run installs them). A
// missing CLI skips the test with the reason, and fails it when
// HERMES_TEST_REQUIRE_ALL=1 (CI).
func agentCLI(t *testing.T, name string) string {
	t.Helper()
	var dirs []string
	if d := os.Getenv("HERMES_AGENTS_DIR"); d != "" {
		dirs = append(dirs, filepath.Join(d, "node_modules", ".bin"))
	}
	_, file, _, _ := runtime.Caller(0)
	dirs = append(dirs, filepath.Join(filepath.Dir(filepath.Dir(file)), ".ci", "agents", "node_modules", ".bin"))
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	msg := fmt.Sprintf("%s is not installed (npm install it, or set HERMES_AGENTS_DIR; .ci/run does)", name)
	if os.Getenv("HERMES_TEST_REQUIRE_ALL") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// startAgentTTY runs an agent's interactive UI on a new terminal, the way
// a human would see it; the test types into it as the human.
func (r *agentRig) startAgentTTY(env []string, name string, args ...string) *ttySession {
	r.t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		r.t.Skipf("no pseudo-terminals: %v", err)
	}
	pty.Setsize(master, &pty.Winsize{Rows: 50, Cols: 160})
	c := exec.Command(name, args...)
	c.Dir, c.Env = r.work, env
	c.Stdin, c.Stdout, c.Stderr = slave, slave, slave
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	s := &ttySession{t: r.t, cmd: c, master: master, done: make(chan struct{})}
	s.start(slave)
	r.t.Cleanup(func() {
		// The whole session the agent runs in (Setsid: its id is the
		// agent's pid), then whatever it detached that still runs from
		// its home (Codex's app-server daemon), so nothing writes into
		// the test's directories after it.
		syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		<-s.done
		master.Close()
		killUnder(r.agentHome)
	})
	return s
}

// killUnder kills the processes whose command line names a path under
// dir: helpers an agent started and detached, from its own home.
func killUnder(dir string) {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.Contains(string(b), dir+"/") {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	time.Sleep(100 * time.Millisecond)
}

// answerTerminalQueries plays the terminal emulator for a full-screen
// agent UI: it answers the queries such UIs send at start (cursor
// position, device attributes, colours, keyboard protocol, modes), which a
// real terminal would answer and a bare PTY does not.
func (s *ttySession) answerTerminalQueries() {
	go func() {
		answered := 0
		for {
			select {
			case <-s.done:
				return
			case <-time.After(20 * time.Millisecond):
			}
			s.mu.Lock()
			scr := s.screen.String()
			s.mu.Unlock()
			rest := scr[answered:]
			answered = len(scr)
			replies := map[string]string{
				"\x1b[6n":      "\x1b[1;1R",
				"\x1b[c":       "\x1b[?62;22c",
				"\x1b[0c":      "\x1b[?62;22c",
				"\x1b]10;?":    "\x1b]10;rgb:ffff/ffff/ffff\x1b\\",
				"\x1b]11;?":    "\x1b]11;rgb:0000/0000/0000\x1b\\",
				"\x1b[?u":      "\x1b[?0u",
				"\x1b[?1007$p": "\x1b[?1007;2$y",
				"\x1b[?2026$p": "\x1b[?2026;2$y",
				"\x1b[14t":     "\x1b[4;800;1280t",
				"\x1b[16t":     "\x1b[6;16;8t",
				"\x1b[18t":     "\x1b[8;50;160t",
			}
			for q, a := range replies {
				for i := strings.Count(rest, q); i > 0; i-- {
					s.master.Write([]byte(a))
				}
			}
		}
	}()
}
