package wrapper

import (
	"fmt"
	"os"
	"path/filepath"

	"hermes-exec/internal/execfn"
	"hermes-exec/policy"
)

// CheckSubcommandName refuses the subcommands unless this process was
// started under a name the classifier judges as hermes-exec: the
// self-disabling ones (yolo on, allowlist add, --reanchor, ...) are known
// to it by the program's name, so a link or copy under another name
// (`ln -s hermes-exec-admin /tmp/a; /tmp/a yolo on`) would pass them
// unjudged. Both argv[0] and the file actually exec'd (AT_EXECFN, which
// `exec -a hermes-exec /tmp/a` cannot change) must be such a name. An
// unreadable AT_EXECFN refuses too.
func CheckSubcommandName() error {
	fn, err := execfn.Path()
	if err != nil {
		return fmt.Errorf("cannot tell the name this program was started as: %v", err)
	}
	for _, n := range []string{fn, os.Args[0]} {
		if name := filepath.Base(n); !policy.IsHermesExecName(name) {
			return fmt.Errorf("started as %q: the subcommands run only as hermes-exec or %s, the names the command checks know", name, AdminName)
		}
	}
	return nil
}
