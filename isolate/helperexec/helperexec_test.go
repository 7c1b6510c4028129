package helperexec

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

var testHelper = Helper{Backend: "test", Name: "hermes-exec-test-helper", RequestEnv: "HX_TEST_REQUEST", EnvPrefix: "HX_TEST_ENV_", Vars: []string{"HOME"}}

type request struct {
	Dir string
	Env []string `json:"-"`
}

// The request and the command's environment come back as they went, each
// variable in one string of its own: no single string of the helper's
// environment grows with the caller's environment.
func TestRequestRoundTrip(t *testing.T) {
	big := "BIG=" + strings.Repeat("x", 200<<10)
	cmdEnv := []string{"A=1", big, "B=two words"}
	args, env, err := testHelper.Command("/h", request{Dir: "/w", Env: cmdEnv}, cmdEnv, []string{"sh", "-c", "true"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(args, []string{"/h", "run", "--", "sh", "-c", "true"}) {
		t.Errorf("args %q", args)
	}
	for _, kv := range env {
		if strings.HasPrefix(kv, testHelper.RequestEnv+"=") && strings.Contains(kv, "xxxx") {
			t.Fatal("the command's environment is inside the request's JSON")
		}
	}
	os.Clearenv()
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	var got request
	gotEnv, err := testHelper.Read(&got)
	if err != nil || got.Dir != "/w" || !reflect.DeepEqual(gotEnv, cmdEnv) {
		t.Errorf("read back %+v %d vars (%v)", got, len(gotEnv), err)
	}
	os.Unsetenv("HX_TEST_ENV_1")
	if _, err := testHelper.Read(&got); err == nil {
		t.Error("a missing variable went unnoticed")
	}
	os.Unsetenv(testHelper.RequestEnv)
	if _, err := testHelper.Read(&got); err == nil || !strings.Contains(err.Error(), "started by hermes-exec") {
		t.Errorf("no request: %v", err)
	}
}
