package procstat

import (
	"os"
	"os/exec"
	"testing"
)

func TestStartTime(t *testing.T) {
	self, ok := StartTime(os.Getpid())
	if !ok || self == "" {
		t.Fatalf("StartTime(self) = %q, %v; want this process's start time", self, ok)
	}
	again, _ := StartTime(os.Getpid())
	if again != self {
		t.Errorf("StartTime(self) changed from %q to %q", self, again)
	}
	c := exec.Command("sleep", "0")
	if err := c.Run(); err != nil {
		t.Fatal(err)
	}
	if s, ok := StartTime(c.Process.Pid); ok {
		t.Errorf("StartTime of an exited, reaped process = %q, true; want false", s)
	}
}
