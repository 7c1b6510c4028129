package reaper

import (
	"encoding/json"
	"reflect"
	"testing"

	"hermes-exec/isolate/sandbox/execproto"
)

// The init speaks execproto without linking it: the values must be its.
func TestProtocolIsExecproto(t *testing.T) {
	for got, want := range map[string]string{
		msgStarted: execproto.MsgStarted, msgExit: execproto.MsgExit,
		msgSignal: execproto.MsgSignal, msgError: execproto.MsgError,
	} {
		if got != want {
			t.Errorf("%q, execproto says %q", got, want)
		}
	}
	if maxRequest != execproto.MaxRequest {
		t.Errorf("max request %d, execproto says %d", maxRequest, execproto.MaxRequest)
	}
	in := execproto.Request{Args: []string{"a", "b"}, Env: []string{"X=1"}, Dir: "/w"}
	b, _ := json.Marshal(in)
	var out request
	if err := json.Unmarshal(b, &out); err != nil || !reflect.DeepEqual(out, request(in)) {
		t.Errorf("request %+v from %s (%v)", out, b, err)
	}
}
