package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	gwapproval "hermes-exec/approval/gateway"
	"hermes-exec/cmd/internal/wrapper"
	"hermes-exec/gateway"
	"hermes-exec/gateway/authz"
	"hermes-exec/gateway/pairing"
	"hermes-exec/gateway/web"
	"hermes-exec/gateway/wire"
	"hermes-exec/internal/hermeshome"
	"hermes-exec/internal/ident"
	"hermes-exec/policy/config"
	"hermes-exec/shim"

	"github.com/urfave/cli/v2"
)

func gatewayCommand() *cli.Command {
	return &cli.Command{
		Name:  "gateway",
		Usage: "the approval gateway: ask for approvals on a web page and chat, not only the terminal",
		Description: `The gateway is a per-user daemon. Wrappers reach it over a private unix
socket ($HERMES_HOME/run/gateway.sock); approvers reach it over HTTPS (the web
page and the /api/v1 API) and through chat bridges. When it runs, a command
that needs approval is put to it (and to the terminal, when there is one: the
first answer wins).

   hermes-exec gateway run &                    start it (or as a systemd user unit)
   hermes-exec gateway status                   is it running? where? who may approve?
   hermes-exec gateway pair CODE                confirm a pairing code shown on the page`,
		Subcommands: []*cli.Command{
			{
				Name:      "run",
				Usage:     "run the gateway in the foreground",
				UsageText: "hermes-exec gateway run [--listen ADDR]",
				Description: `Serves the approver page and API on gateway.listen (default 127.0.0.1:8787)
with TLS 1.3. With gateway.tls: auto (the default) a self-signed ECDSA
certificate is made under $HERMES_HOME on first start and its SHA-256
fingerprint printed: compare it with the one your browser shows.
gateway.cert_file/key_file use a real certificate instead. gateway.tls: off
serves plain HTTP, and only on a loopback address. Chat bridges enabled in
config.yaml (gateway.telegram.enabled) start with it. SIGINT or SIGTERM stop
it; requests still waiting are then denied.`,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "listen", Usage: "address of the page and API", DefaultText: "gateway.listen, else 127.0.0.1:8787"},
					&cli.StringFlag{Name: "config", Usage: "configuration file", DefaultText: "$HERMES_HOME/config.yaml"},
				},
				OnUsageError: onUsageError,
				Action:       gatewayRun,
			},
			{
				Name:         "status",
				Usage:        "say whether the gateway runs (exit 0 only when it does)",
				UsageText:    "hermes-exec gateway status [--json]",
				Flags:        []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print the status as JSON"}},
				OnUsageError: onUsageError,
				Action:       gatewayStatus,
			},
			{
				Name:      "pair",
				Usage:     "confirm a pairing code: its requester becomes an approver",
				UsageText: "hermes-exec gateway pair CODE",
				Description: `CODE is what the web page (or a chat bot) showed the person asking to
approve. Five wrong codes in a row lock pairing on a platform for an hour.`,
				OnUsageError: onUsageError,
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usageError("gateway pair takes one CODE")
					}
					st, lay, err := pairingStore(c)
					if err != nil {
						return err
					}
					a, err := st.ApproveAny(c.Args().First())
					if err != nil {
						return fmt.Errorf("pairing: %w", err)
					}
					auditPairing(lay, a, "paired")
					fmt.Printf("paired %s (%s id %s)\n", gateway.ApproverName(gateway.Identity{Platform: a.Platform, ID: a.ID, Name: a.Name}), a.Platform, a.ID)
					return nil
				},
			},
		},
	}
}

func pairingCommand() *cli.Command {
	return &cli.Command{
		Name:  "pairing",
		Usage: "list, approve and revoke the gateway's paired approvers",
		Description: `Pairing records live in $HERMES_HOME/pairing, one file per platform (web,
telegram, ...), mode 0600. Codes are kept only as salted hashes: list never
shows them.`,
		Subcommands: []*cli.Command{
			{
				Name:         "list",
				OnUsageError: onUsageError,
				Usage:        "paired approvers, pending requests (no codes), locked platforms",
				Flags:        []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print as JSON"}},
				Action: func(c *cli.Context) error {
					st, _, err := pairingStore(c)
					if err != nil {
						return err
					}
					l, err := st.List()
					if err != nil {
						return err
					}
					if c.Bool("json") {
						if l.Approved == nil {
							l.Approved = []pairing.Approver{}
						}
						if l.Pending == nil {
							l.Pending = []pairing.PendingCode{}
						}
						type pend struct {
							Platform    string    `json:"platform"`
							RequesterID string    `json:"requester_id"`
							Name        string    `json:"name,omitempty"`
							Expires     time.Time `json:"expires"`
						}
						ps := []pend{}
						for _, p := range l.Pending {
							ps = append(ps, pend{p.Platform, p.RequesterID, p.Name, p.Expires})
						}
						return json.NewEncoder(os.Stdout).Encode(map[string]any{"approved": l.Approved, "pending": ps, "locked_until": l.LockedUntil})
					}
					w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
					fmt.Fprintln(w, "APPROVED\tPLATFORM\tID\tNAME\tSINCE")
					for _, a := range l.Approved {
						fmt.Fprintf(w, "\t%s\t%s\t%s\t%s\n", a.Platform, a.ID, a.Name, a.Paired.Local().Format(time.DateTime))
					}
					fmt.Fprintln(w, "PENDING\tPLATFORM\tREQUESTER\tNAME\tEXPIRES")
					for _, p := range l.Pending {
						fmt.Fprintf(w, "\t%s\t%s\t%s\t%s\n", p.Platform, p.RequesterID, p.Name, p.Expires.Local().Format(time.DateTime))
					}
					for p, t := range l.LockedUntil {
						fmt.Fprintf(w, "LOCKED\t%s\tuntil %s\t\t\n", p, t.Local().Format(time.DateTime))
					}
					return w.Flush()
				},
			},
			{
				Name:         "approve",
				OnUsageError: onUsageError,
				Usage:        "confirm a pairing code on one platform",
				UsageText:    "hermes-exec pairing approve PLATFORM CODE",
				Action: func(c *cli.Context) error {
					if c.NArg() != 2 {
						return usageError("pairing approve takes PLATFORM CODE")
					}
					st, lay, err := pairingStore(c)
					if err != nil {
						return err
					}
					a, err := st.Approve(c.Args().Get(0), c.Args().Get(1))
					if err != nil {
						return fmt.Errorf("pairing: %w", err)
					}
					auditPairing(lay, a, "paired")
					fmt.Printf("paired %s:%s %s\n", a.Platform, a.ID, a.Name)
					return nil
				},
			},
			{
				Name:         "revoke",
				OnUsageError: onUsageError,
				Usage:        "remove an approver",
				UsageText:    "hermes-exec pairing revoke PLATFORM ID",
				Action: func(c *cli.Context) error {
					if c.NArg() != 2 {
						return usageError("pairing revoke takes PLATFORM ID")
					}
					st, lay, err := pairingStore(c)
					if err != nil {
						return err
					}
					p, id := c.Args().Get(0), c.Args().Get(1)
					found, err := st.Revoke(p, id)
					if err != nil {
						return err
					}
					if !found {
						return fmt.Errorf("pairing: no approver %s:%s (see hermes-exec pairing list)", p, id)
					}
					auditPairing(lay, pairing.Approver{Platform: p, ID: id}, "revoked")
					fmt.Printf("revoked %s:%s\n", p, id)
					return nil
				},
			},
			{
				Name:         "clear-pending",
				OnUsageError: onUsageError,
				Usage:        "drop every pending pairing code",
				Action: func(c *cli.Context) error {
					st, _, err := pairingStore(c)
					if err != nil {
						return err
					}
					n, err := st.ClearPending()
					if err != nil {
						return err
					}
					fmt.Printf("cleared %d pending pairing code(s)\n", n)
					return nil
				},
			},
		},
	}
}

func pairingStore(c *cli.Context) (*pairing.Store, hermeshome.Layout, error) {
	lay := wrapper.GatewayLayout()
	return &pairing.Store{Dir: lay.Pairing()}, lay, nil
}

func auditPairing(lay hermeshome.Layout, a pairing.Approver, what string) {
	who := gateway.Identity{Platform: a.Platform, ID: a.ID, Name: a.Name}
	appendGatewayAudit(lay, gateway.AuditEntry{Kind: "pairing", By: who, Detail: what + " " + who.String()})
}

// appendGatewayAudit writes what the gateway records itself to the audit
// log, beside the wrappers' records.
func appendGatewayAudit(lay hermeshome.Layout, e gateway.AuditEntry) {
	rec := shim.Record{
		Event:    shim.EventNotice,
		Time:     time.Now().UTC(),
		User:     ident.Current(),
		Verdict:  "gateway",
		Decision: e.Kind,
		Channel:  "gateway",
		Approver: gateway.ApproverName(e.By),
		Reason:   e.Detail,
		Backend:  "",
	}
	if e.By.Platform != "" {
		rec.Channel = "gateway:" + e.By.Platform
	}
	if e.Request != nil {
		rec.Command = e.Request.Command
		rec.Session = e.Request.Session
		rec.Cwd = e.Request.Cwd
		rec.Findings = e.Request.Findings
		rec.Backend = e.Request.Backend
	}
	if err := (shim.Audit{Path: lay.Audit()}).Append(rec); err != nil {
		fmt.Fprintf(os.Stderr, "hermes-exec: audit log: %v\n", err)
	}
}

func gatewayStatus(c *cli.Context) error {
	lay := wrapper.GatewayLayout()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	st, err := gwapproval.New(lay.GatewaySocket()).Status(ctx)
	if err != nil {
		if c.Bool("json") {
			json.NewEncoder(os.Stdout).Encode(map[string]any{"running": false, "error": err.Error()})
		} else {
			fmt.Printf("gateway: not running (%s: %v)\n", lay.GatewaySocket(), errors.Unwrap(err))
		}
		return exitCoder{1}
	}
	if c.Bool("json") {
		return json.NewEncoder(os.Stdout).Encode(st)
	}
	fmt.Printf("gateway: running (pid %d)\n", st.PID)
	fmt.Printf("  url:        %s\n", st.URL)
	if st.TLS {
		fmt.Printf("  tls:        %s\n", st.TLSFingerprint)
	} else {
		fmt.Printf("  tls:        off (plain HTTP on loopback)\n")
	}
	fmt.Printf("  pending:    %d\n", st.Pending)
	fmt.Printf("  bridges:    %s\n", strings.Join(append([]string{"web"}, st.Bridges...), ", "))
	if len(st.Approvers) == 0 {
		fmt.Printf("  approvers:  none yet (open the page and pair: hermes-exec gateway pair CODE)\n")
	}
	for _, a := range st.Approvers {
		name := ""
		if a.Name != "" {
			name = " " + a.Name
		}
		fmt.Printf("  approver:   %s:%s%s (%s)\n", a.Platform, a.ID, name, a.Source)
	}
	return nil
}

// gatewayRun is `gateway run`: the socket for wrappers, the page and API
// for approvers, and the enabled chat bridges, until SIGINT or SIGTERM.
func gatewayRun(c *cli.Context) error {
	s, err := wrapper.Load(globalsFrom(c))
	if err != nil {
		return err
	}
	gcfg := s.Cfg.Gateway.WithDefaults()
	if c.IsSet("listen") {
		gcfg.Listen = c.String("listen")
	}
	lay := wrapper.GatewayLayout()
	if err := os.MkdirAll(lay.Dir, 0o700); err != nil {
		return err
	}
	store := &pairing.Store{Dir: lay.Pairing()}
	az := &authz.Authorizer{DotEnv: lay.Env(), Pairing: store}

	var bridges []gateway.Bridge
	if gcfg.Telegram.Enabled {
		f, ok := gateway.LookupBridge("telegram")
		if !ok {
			return errors.New("gateway.telegram.enabled is set, but this build has no telegram bridge")
		}
		b, err := f(gateway.BridgeConfig{Home: lay.Dir, Gateway: gcfg, Lookup: az.Lookup, Log: s.Log})
		if err != nil {
			return fmt.Errorf("telegram: %w", err)
		}
		bridges = append(bridges, b)
	}
	platforms := []string{web.Platform}
	var bridgeNames []string
	for _, b := range bridges {
		platforms = append(platforms, b.Platform())
		bridgeNames = append(bridgeNames, b.Platform())
	}

	srv := gateway.NewServer(gateway.Options{
		Authorized:   az.Authorized,
		HasApprovers: func() bool { return len(az.Approvers(platforms)) > 0 },
		Approvers:    az.Identities,
		PairingOpen: func(p string) bool {
			if p == web.Platform {
				return true // the page's pairing is how a browser becomes an approver at all
			}
			mode := config.PairingAuto
			if p == "telegram" {
				mode = gcfg.Telegram.Pairing
			}
			switch mode {
			case config.PairingOn:
				return true
			case config.PairingOff:
				return false
			}
			return !az.HasAllowlist(p)
		},
		Pairing: store,
		Yolo:    shim.Sessions{Dir: lay.Sessions()},
		Audit:   func(e gateway.AuditEntry) { appendGatewayAudit(lay, e) },
	})

	// The approvers' listener.
	if gcfg.TLS == config.TLSOff && !gateway.IsLoopback(gcfg.Listen) {
		return fmt.Errorf("gateway.tls: off serves plain HTTP, which is allowed only on a loopback address, not %s", gcfg.Listen)
	}
	tcp, err := net.Listen("tcp", gcfg.Listen)
	if err != nil {
		return err
	}
	scheme, fingerprint := "http", ""
	ln := tcp
	if gcfg.TLS != config.TLSOff {
		var cert tls.Certificate
		if gcfg.CertFile != "" {
			cert, err = tls.LoadX509KeyPair(gcfg.CertFile, gcfg.KeyFile)
		} else {
			var created bool
			cert, created, err = gateway.EnsureCert(lay.TLSCert(), lay.TLSKey(), gateway.CertHosts(gcfg.Listen))
			if created {
				fmt.Printf("hermes-exec gateway: made a self-signed certificate %s\n", lay.TLSCert())
			}
		}
		if err != nil {
			tcp.Close()
			return fmt.Errorf("gateway TLS: %w", err)
		}
		fingerprint = gateway.Fingerprint(cert.Certificate[0])
		scheme = "https"
		ln = tls.NewListener(tcp, &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}})
	}
	addr := tcp.Addr().String()
	url := scheme + "://" + addr + "/"

	sock, err := gateway.ListenSocket(lay.GatewaySocket())
	if err != nil {
		tcp.Close()
		return err
	}
	defer os.Remove(lay.GatewaySocket())

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	status := func() wire.Status {
		st := wire.Status{Running: true, Listen: addr, URL: url, TLS: fingerprint != "", TLSFingerprint: fingerprint,
			Pending: len(srv.Pending()), Bridges: bridgeNames, PID: os.Getpid(), Approvers: []wire.Approver{}}
		if st.Bridges == nil {
			st.Bridges = []string{}
		}
		for _, a := range az.Approvers(platforms) {
			st.Approvers = append(st.Approvers, wire.Approver(a))
		}
		return st
	}
	webSrv := &http.Server{Handler: web.Handler(web.Options{Hub: srv, Pairing: store}), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}

	var wg sync.WaitGroup
	errs := make(chan error, 2+len(bridges))
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := webSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs <- fmt.Errorf("web: %w", err)
		}
	}()
	go func() {
		defer wg.Done()
		if err := gateway.ServeSocket(ctx, sock, gateway.SocketHandler(srv, status)); err != nil {
			errs <- fmt.Errorf("socket: %w", err)
		}
	}()
	for _, b := range bridges {
		go func() {
			if err := b.Run(ctx, srv); err != nil && ctx.Err() == nil {
				s.Log.Errorf("%s bridge stopped: %v", b.Platform(), err)
			}
		}()
	}

	fmt.Printf("hermes-exec gateway: approvals at %s\n", url)
	if fingerprint != "" {
		fmt.Printf("hermes-exec gateway: TLS certificate SHA-256 fingerprint %s\n", fingerprint)
	}
	fmt.Printf("hermes-exec gateway: wrappers connect to %s\n", lay.GatewaySocket())

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errs:
	}
	stop()
	webSrv.Close()
	wg.Wait()
	return runErr
}
