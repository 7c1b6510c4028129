package agenthook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Codex's shell tool (exec_command, 0.171) takes a `shell` argument: "Shell
// binary to launch. Defaults to the user's default shell." The model can
// name /bin/sh there, and Codex then starts that program instead of the
// user's login shell, i.e. not hermes-exec (before its shell snapshot is
// ready, or with snapshots off, nothing of hermes-exec runs at all: no deny
// rule, no audit record, no sandbox). The hook event carries only
// tool_input.command, so the hook reads the call's arguments from the
// session's transcript (transcript_path, the rollout Codex writes) by its
// call id (tool_use_id). The transcript is the agent user's file, so a
// process of that user could rewrite it; such a process already runs
// whatever it likes, and a call Codex records next to a forged one with
// another shell is denied (scanCodexCall).

// CodexCall is what a Codex shell call asks for besides its command.
type CodexCall struct {
	Tool string // exec_command, shell_command, ...
	// Shell is the shell the model named; empty when it left the choice
	// to Codex, which then runs the user's login shell.
	Shell string
}

// TranscriptWait is how long CodexCallOf waits for Codex to write the call
// to its transcript (the rollout is written by a separate task, so the hook
// may start before the line is there).
var TranscriptWait = 5 * time.Second

// CodexCallOf finds call id in Codex's transcript and says which program it
// names. Any failure (no transcript, the call never appears, arguments
// that do not parse) is an error: the caller cannot tell which program
// Codex will start, and denies.
func CodexCallOf(transcript, id string) (CodexCall, error) {
	if transcript == "" || id == "" {
		return CodexCall{}, errors.New("the hook event names no transcript or call id (an --ephemeral Codex session writes none)")
	}
	deadline := time.Now().Add(TranscriptWait)
	for whole := true; ; whole = false {
		// Once the whole file is searched; when the call is written
		// later, it is at the end.
		c, found, err := findCodexCall(transcript, id, whole)
		if err != nil {
			return CodexCall{}, err
		}
		if found {
			return c, nil
		}
		if time.Now().After(deadline) {
			return CodexCall{}, fmt.Errorf("call %s is not in the transcript %s", id, transcript)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// findCodexCall searches the end of the transcript, then more of it
// (all of it if whole): the call is the newest item or close to it, and a
// long session's rollout is tens of MB (reading a 4 MiB tail for every
// command cost 16 ms of CPU).
func findCodexCall(transcript, id string, whole bool) (CodexCall, bool, error) {
	f, err := os.Open(transcript)
	if err != nil {
		return CodexCall{}, false, fmt.Errorf("the transcript: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return CodexCall{}, false, fmt.Errorf("the transcript: %w", err)
	}
	if !st.Mode().IsRegular() {
		return CodexCall{}, false, fmt.Errorf("the transcript %s is not a regular file", transcript)
	}
	key, _ := json.Marshal(id)
	size := st.Size()
	windows := []int64{256 << 10, 4 << 20}
	if whole {
		windows = append(windows, size)
	}
	for _, w := range windows {
		from := max(0, size-w)
		data := make([]byte, size-from)
		if _, err := f.ReadAt(data, from); err != nil && err != io.EOF {
			return CodexCall{}, false, fmt.Errorf("the transcript: %w", err)
		}
		if from > 0 {
			// The first line is cut; skip it.
			if i := bytes.IndexByte(data, '\n'); i >= 0 {
				data = data[i+1:]
			}
		}
		if c, found, err := scanCodexCall(data, key); found || err != nil {
			return c, found, err
		}
		if from == 0 {
			break
		}
	}
	return CodexCall{}, false, nil
}

// scanCodexCall looks at the transcript's complete lines (a last line
// without its newline is still being written) for the function call whose
// call_id is key (JSON-quoted). A call id given twice with different
// shells is refused: the hook could not tell which one Codex is about to
// run.
func scanCodexCall(data, key []byte) (CodexCall, bool, error) {
	var id string
	if err := json.Unmarshal(key, &id); err != nil {
		return CodexCall{}, false, err
	}
	var out CodexCall
	found := false
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		line := data[:i]
		data = data[i+1:]
		if !bytes.Contains(line, key) {
			continue
		}
		var item struct {
			Type    string `json:"type"`
			Payload struct {
				Type      string `json:"type"`
				Name      string `json:"name"`
				Arguments string `json:"arguments"`
				CallID    string `json:"call_id"`
			} `json:"payload"`
		}
		if json.Unmarshal(line, &item) != nil || item.Type != "response_item" || item.Payload.Type != "function_call" {
			continue
		}
		if item.Payload.CallID != id {
			continue
		}
		c, err := codexCallArgs(item.Payload.Name, item.Payload.Arguments)
		if err != nil {
			return CodexCall{}, false, err
		}
		if found && c != out {
			return CodexCall{}, false, fmt.Errorf("call %s appears twice in the transcript, with different shells", id)
		}
		out, found = c, true
	}
	return out, found, nil
}

func codexCallArgs(tool, arguments string) (CodexCall, error) {
	c := CodexCall{Tool: tool}
	var args map[string]json.RawMessage
	if err := json.Unmarshal([]byte(arguments), &args); err != nil {
		return c, fmt.Errorf("the arguments of %s do not parse: %v", tool, err)
	}
	if raw, ok := args["shell"]; ok && string(raw) != "null" {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return c, fmt.Errorf("the shell argument of %s is not a string", tool)
		}
		// An empty name is a name too: Codex resolves it, not the
		// login shell.
		c.Shell = s
		if s == "" {
			c.Shell = `""`
		}
	}
	return c, nil
}
