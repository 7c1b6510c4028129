package doctor

import (
	"net"
	"strings"
	"time"

	"hermes-exec/adminpolicy"
	"hermes-exec/isolate/supervisorexec"
	"hermes-exec/policy/config"
)

// checkAdminPolicy reports the administrator's policy: one that cannot be
// trusted or parsed denies every command, so it is an error here too.
func checkAdminPolicy(o *Options) []Result {
	const name = "admin-policy"
	eff, err := adminpolicy.ForUID(o.UID)
	if err != nil {
		return []Result{fail(name, "an administrator must fix it: root-owned, not group- or other-writable, not a symlink, valid YAML", "%v: every command is denied", err)}
	}
	if !eff.Present {
		return []Result{ok(name, "no administrator policy at %s", eff.Path)}
	}
	backends := "any backend"
	if len(eff.Backends) > 0 {
		backends = "backends " + strings.Join(eff.Backends, ", ")
	}
	return []Result{ok(name, "%s applies to %s: %s (`hermes-exec policy show` prints all of it)", eff.Path, eff.User, backends)}
}

// checkSupervisor says whether the supervisor answers, and whether it must:
// with terminal.backend supervisor, or a policy that allows only it, a
// supervisor that is down means every command is denied.
func checkSupervisor(o *Options) []Result {
	const name = "supervisor"
	needed := false
	if cfg, err := loadConfig(o, o.ConfigPath); err == nil && cfg.Terminal.Backend == config.BackendSupervisor {
		needed = true
	}
	if eff, err := adminpolicy.ForUID(o.UID); err == nil && len(eff.Backends) == 1 && eff.Backends[0] == config.BackendSupervisor {
		needed = true
	}
	sock := supervisorexec.Socket()
	c, err := net.DialTimeout("unix", sock, 2*time.Second)
	if err != nil {
		if needed {
			return []Result{fail(name, "start it as root (`hermes-exec supervisor`, or its systemd socket unit)", "commands go to the supervisor, but %s does not answer: %v", sock, err)}
		}
		return []Result{ok(name, "not running (only the supervisor backend needs it)")}
	}
	c.Close()
	return []Result{ok(name, "%s accepts connections", sock)}
}
