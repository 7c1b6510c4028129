package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"hermes-exec/cmd/internal/wrapper"
	"hermes-exec/isolate/sandboxexec"
	"hermes-exec/isolate/supervisorexec"
	"hermes-exec/supervisor"
)

// supervisorCommand is the root daemon. It lives in this static binary
// (not in hermes-exec-sandbox) because it never links libcontainer: it
// starts the helper per sandbox, as the wrapper does, or talks to a
// session's reaper, so it stays small and a container fault kills a helper,
// not the daemon every user depends on.
func supervisorCommand() *cli.Command {
	return &cli.Command{
		Name:      "supervisor",
		Usage:     "run the root supervisor: users' commands in their own sandboxes (shared machines)",
		UsageText: "hermes-exec supervisor [--listen PATH] [--group NAME]",
		Description: `Run as root (by systemd: hermes-exec-supervisor.socket, or by hand). It
listens on ` + supervisorexec.DefaultSocket + ` (mode 0660, group hermes-exec), or on the
socket systemd passes (LISTEN_FDS). A user whose config.yaml says
terminal.backend: supervisor (or whom /etc/hermes-exec/policy.yaml allows
only that backend) classifies and asks as usual; the command then runs here,
in that user's own sandbox, as that user's uid, with the cgroup limits of the
user's container section capped by the policy.

Who calls is taken from the kernel (SO_PEERCRED, pidfd), never from the
request; the working directory and stdio come as descriptors the user
opened. Per-user caps: max_commands, max_sessions, max_rate (policy.yaml).
Every command is logged in /var/log/hermes-exec/USER.jsonl (root's, 0600).

SIGTERM or SIGINT stops it: running commands get SIGTERM, then SIGKILL after
a grace period, and their wrappers exit 126 saying so. Session sandboxes
survive and are used again by the next supervisor. A supervisor that is down
denies (126): the wrapper never falls back to the host.

EXAMPLES:
   groupadd -r hermes-exec && usermod -aG hermes-exec alice
   hermes-exec supervisor &                      # no systemd
   systemctl enable --now hermes-exec-supervisor.socket`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "listen", Usage: "socket path", Value: supervisorexec.DefaultSocket},
			&cli.StringFlag{Name: "group", Usage: "group whose members may connect", Value: supervisor.DefaultGroup},
			&cli.StringFlag{Name: "state-dir", Usage: "per-user sandbox state (root's)", Value: supervisor.DefaultStateRoot},
			&cli.StringFlag{Name: "audit-dir", Usage: "per-user audit logs USER.jsonl (root's)", Value: supervisor.DefaultAuditDir},
			&cli.StringFlag{Name: "policy", Usage: "read the policy from this file instead of /etc/hermes-exec/policy.yaml (for trying a policy on the daemon's side; the wrappers still read the fixed path)", Hidden: true},
			&cli.DurationFlag{Name: "grace", Usage: "how long running commands get after SIGTERM when stopping", Value: supervisor.DefaultGrace},
		},
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 0 {
				return usageError("supervisor takes no arguments")
			}
			log, err := wrapper.NewLogger(globalsFrom(c).LogLevel)
			if err != nil {
				return err
			}
			log.SetLevel(max(log.GetLevel(), 4)) // info: a daemon says what it does
			helper, err := sandboxexec.HelperPath()
			if err != nil {
				return err
			}
			srv, err := supervisor.New(supervisor.Config{
				Listen: c.String("listen"), Group: c.String("group"), Helper: helper,
				StateRoot: c.String("state-dir"), AuditDir: c.String("audit-dir"),
				PolicyPath: c.String("policy"), Grace: c.Duration("grace"), Log: log,
			})
			if err != nil {
				return err
			}
			ln, err := srv.Listen()
			if err != nil {
				return fmt.Errorf("supervisor: %w", err)
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return srv.Serve(ctx, ln)
		},
	}
}
