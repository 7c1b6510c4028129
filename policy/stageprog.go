package policy

import "mvdan.cc/sh/v3/syntax"

// stmtProgram is the effective program a statement runs ("" if unknown).
func (w *walker) stmtProgram(st *syntax.Stmt) string {
	call, ok := st.Cmd.(*syntax.CallExpr)
	if !ok || len(call.Args) == 0 {
		return ""
	}
	words := w.evalWords(call.Args)
	defer w.putArgs(words)
	argv := w.effectiveArgv(words)
	if len(argv) == 0 || !argv[0].static {
		return ""
	}
	return progName(argv[0].s)
}

// pipelineNames lists the effective program of each stage.
func (w *walker) pipelineNames(stages []*syntax.Stmt) []string {
	var out []string
	for _, s := range stages {
		if n := w.stmtProgram(s); n != "" {
			out = append(out, n)
		}
	}
	return out
}
