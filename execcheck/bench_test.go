package execcheck

import (
	"os"
	"strconv"
	"testing"

	"hermes-exec/policy"
)

// The classification part of an allowed exec, for the argvs a build makes
// (each different, so the memory of allowed argvs does not help).
func BenchmarkClassifyBuildExecs(b *testing.B) {
	cls, err := policy.NewClassifier(policy.Rules{ExecChecked: true})
	if err != nil {
		b.Fatal(err)
	}
	s := &Supervisor{Classifier: cls}
	pid := os.Getpid()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		f := "f" + strconv.Itoa(i) + ".c"
		for _, argv := range [][]string{
			{"/bin/sh", "-c", "cc -O1 -c " + f + " -o f.o"},
			{"/usr/bin/cc", "-O1", "-c", f, "-o", "f.o"},
			{"/usr/libexec/gcc/x86_64-linux-gnu/12/cc1", "-quiet", f, "-quiet", "-dumpbase", f, "-mtune=generic", "-march=x86-64", "-O1", "-o", "/tmp/ccX.s"},
			{"/usr/bin/as", "--64", "-o", "f.o", "/tmp/ccX.s"},
		} {
			e := &Exec{Pid: pid, Path: argv[0], Argv: argv}
			st, _, _ := s.statProgram(e)
			s.classify(e, st, nil)
			if e.Verdict.Decision != policy.Allow {
				b.Fatalf("%v: %v", argv, e.Verdict)
			}
		}
	}
}
