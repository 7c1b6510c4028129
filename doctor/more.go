package doctor

import (
	"context"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"hermes-exec/internal/hermeshome"
	"hermes-exec/internal/sibling"
	"hermes-exec/policy/config"
	"hermes-exec/secretstore"
	"hermes-exec/shim"

	"golang.org/x/sys/unix"
)

func checkSecrets(o *Options) []Result {
	const name = "secrets"
	l := hermeshome.Layout{Dir: o.Home}
	err := notRegular(l.Env())
	var plain []string
	if err == nil {
		plain, err = config.DotEnvNames(l.Env())
	}
	if err != nil {
		return []Result{fail(name, "make .env a readable regular file", "%v: every command is denied until it can be read", err)}
	}
	st := secretstore.ForHome(o.Home)
	m, err := st.Mode()
	if err != nil {
		return []Result{fail(name, "restore .env.age from a backup or remove it", "%v: every command is denied", err)}
	}
	if m == secretstore.ModeNone {
		if len(plain) > 0 {
			return []Result{ok(name, "%d names in .env, in clear (hermes-exec secrets set NAME keeps a value encrypted instead)", len(plain))}
		}
		return []Result{ok(name, "no .env and no .env.age")}
	}
	names, nerr := st.Names()
	var rs []Result
	if nerr != nil {
		rs = append(rs, fail(name, "run hermes-exec secrets list after restoring it, or hermes-exec secrets edit (rewrites it)", "%v: every command is denied", nerr))
	}
	if m == secretstore.ModeIdentity {
		if _, _, err := st.Load(); err != nil {
			if nerr == nil {
				rs = append(rs, warn(name, "put the identity back at "+st.Identity+" (or set HERMES_AGE_IDENTITY)", "%v: the names are still kept from commands, but their values are redacted only when the caller's environment holds them", err))
			} else {
				rs = append(rs, fail(name, "", "%v", err))
			}
		} else {
			rs = append(rs, ok(name, "%d names in .env.age, encrypted to the identity %s", len(names), st.Identity))
		}
	} else if nerr == nil {
		rs = append(rs, ok(name, "%d names in .env.age, protected by a passphrase", len(names)))
	}
	for _, n := range plain {
		for _, e := range names {
			if n == e {
				rs = append(rs, warn(name, "remove "+n+" from "+l.Env(), "%s is in .env.age and also in .env, in clear", n))
			}
		}
	}
	return rs
}

// gatewayStatus is GET /v1/status on the gateway's unix socket.
type gatewayStatus struct {
	Running        bool              `json:"running"`
	Listen         string            `json:"listen"`
	TLSFingerprint string            `json:"tls_fingerprint"`
	Pending        int               `json:"pending"`
	Approvers      []json.RawMessage `json:"approvers"`
}

func checkGateway(o *Options) []Result {
	const name = "gateway"
	l := hermeshome.Layout{Dir: o.Home}
	var rs []Result
	certFP, certRes := checkCert(l.TLSCert())
	rs = append(rs, certRes...)
	sock := l.GatewaySocket()
	fi, err := os.Lstat(sock)
	if errors.Is(err, os.ErrNotExist) {
		return append([]Result{warn(name, "start the gateway to approve from a browser or phone", "gateway not running (no socket at %s): approvals are asked on the terminal only", sock)}, rs...)
	}
	if err != nil {
		return append(rs, fail(name, "", "%s: %v", sock, err))
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return append(rs, fail(name, "remove "+sock, "%s is not a socket", sock))
	}
	code, body, err := unixGet(sock, "/v1/status", 3*time.Second)
	if err != nil {
		return append([]Result{warn(name, "restart the gateway (a stale socket is left by one that crashed)", "gateway not answering on %s: %v", sock, err)}, rs...)
	}
	var s gatewayStatus
	if code != 200 || json.Unmarshal(body, &s) != nil {
		return append(rs, fail(name, "check the gateway's log", "the gateway answered /v1/status with status %d and no status", code))
	}
	if !s.Running {
		return append([]Result{warn(name, "start the gateway", "the gateway says it is not running")}, rs...)
	}
	rs = append([]Result{ok(name, "running, listening on %s, %d pending request(s), TLS %s", s.Listen, s.Pending, orNone(s.TLSFingerprint))}, rs...)
	if certFP != "" && s.TLSFingerprint != "" && normFP(certFP) != normFP(s.TLSFingerprint) {
		rs = append(rs, fail("gateway-tls", "restart the gateway so it serves "+l.TLSCert(), "the gateway serves %s, not the certificate in %s (%s)", s.TLSFingerprint, l.TLSCert(), certFP))
	}
	if len(s.Approvers) == 0 {
		rs = append(rs, warn("approvers", "pair an approver with the gateway", "no approver is paired: a request sent to the gateway waits for its timeout and is denied"))
	} else {
		rs = append(rs, ok("approvers", "%d approver(s) paired", len(s.Approvers)))
	}
	return rs
}

func orNone(s string) string {
	if s == "" {
		return "off"
	}
	return s
}

func normFP(s string) string {
	s = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "sha256:")
	return strings.ReplaceAll(s, ":", "")
}

// certNotAfter reads the end of a certificate's validity from its DER.
// crypto/x509 would do it, but it is large, and hermes-exec is on the path
// of every command.
func certNotAfter(der []byte) (time.Time, error) {
	var cert struct {
		TBS asn1.RawValue
		Alg asn1.RawValue
		Sig asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &cert); err != nil {
		return time.Time{}, fmt.Errorf("not a certificate: %w", err)
	}
	rest := cert.TBS.Bytes
	var field asn1.RawValue
	// version [0] (optional), serial, signature, issuer, then validity.
	for i := 0; ; i++ {
		var err error
		if rest, err = asn1.Unmarshal(rest, &field); err != nil {
			return time.Time{}, fmt.Errorf("not a certificate: %w", err)
		}
		if field.Class == asn1.ClassContextSpecific && i == 0 {
			i--
			continue
		}
		if i == 3 {
			break
		}
	}
	var validity struct{ NotBefore, NotAfter time.Time }
	if _, err := asn1.Unmarshal(field.FullBytes, &validity); err != nil {
		return time.Time{}, fmt.Errorf("no validity in the certificate: %w", err)
	}
	return validity.NotAfter, nil
}

// unixGet is an HTTP/1.0 GET over a unix socket. hermes-exec is on the
// path of every command, so doctor does not link net/http for one request:
// an HTTP/1.0 request gets a plain response (no chunking) that ends when
// the server closes the connection.
func unixGet(sock, path string, timeout time.Duration) (int, []byte, error) {
	c, err := net.DialTimeout("unix", sock, timeout)
	if err != nil {
		return 0, nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.0\r\nHost: gateway\r\nAccept: application/json\r\n\r\n"); err != nil {
		return 0, nil, err
	}
	resp, err := io.ReadAll(io.LimitReader(c, 1<<20))
	if err != nil {
		return 0, nil, err
	}
	head, body, ok := strings.Cut(string(resp), "\r\n\r\n")
	var proto string
	var code int
	if !ok {
		return 0, nil, errors.New("not an HTTP response")
	}
	if _, err := fmt.Sscanf(head, "%s %d", &proto, &code); err != nil || !strings.HasPrefix(proto, "HTTP/1.") {
		return 0, nil, errors.New("not an HTTP response")
	}
	return code, []byte(body), nil
}

// checkCert reads the gateway's certificate: its fingerprint, and
// whether it expired or is about to.
func checkCert(path string) (string, []Result) {
	const name = "gateway-tls"
	if err := notRegular(path); err != nil {
		return "", []Result{fail(name, "remove it: the gateway makes a new one", "%v", err)}
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", []Result{fail(name, "", "%s: %v", path, err)}
	}
	b, _ := pem.Decode(data)
	if b == nil {
		return "", []Result{fail(name, "remove it: the gateway makes a new one", "%s holds no PEM certificate", path)}
	}
	notAfter, err := certNotAfter(b.Bytes)
	if err != nil {
		return "", []Result{fail(name, "remove it: the gateway makes a new one", "%s: %v", path, err)}
	}
	sum := sha256.Sum256(b.Bytes)
	fp := "sha256:" + hex.EncodeToString(sum[:])
	switch left := time.Until(notAfter); {
	case left < 0:
		return fp, []Result{fail(name, "remove it and restart the gateway (it makes a new one); re-pin the new fingerprint", "%s expired on %s", path, notAfter.Format(time.DateOnly))}
	case left < 14*24*time.Hour:
		return fp, []Result{warn(name, "renew it before then", "%s expires on %s", path, notAfter.Format(time.DateOnly))}
	}
	return fp, []Result{ok(name, "%s: fingerprint %s, valid until %s", path, fp, notAfter.Format(time.DateOnly))}
}

func checkGit(o *Options) []Result {
	const name = "git"
	l := hermeshome.Layout{Dir: o.Home}
	var rs []Result
	for _, p := range []string{l.Env(), l.AgeIdentity()} {
		if _, err := os.Lstat(p); err != nil {
			continue
		}
		root := workTree(filepath.Dir(p))
		if root == "" {
			continue
		}
		ignored, how := gitIgnored(root, p)
		rel, _ := filepath.Rel(root, p)
		if !ignored {
			rs = append(rs, fail(name, fmt.Sprintf("echo '/%s' >> %s", rel, filepath.Join(root, ".gitignore")),
				"%s is inside the git work tree %s and not ignored (%s): `git add -A` would commit it", p, root, how))
		} else {
			rs = append(rs, ok(name, "%s is inside the git work tree %s, and ignored", p, root))
		}
	}
	if len(rs) == 0 {
		return []Result{ok(name, "no secret file of %s is inside a git work tree", o.Home)}
	}
	return rs
}

// workTree is the git work tree holding dir, or "".
func workTree(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		if d == filepath.Dir(d) {
			return ""
		}
	}
}

// gitIgnored asks git; without git, it reads the .gitignore files between
// the work tree and the file for a pattern naming it.
func gitIgnored(root, path string) (bool, string) {
	if g, err := exec.LookPath("git"); err == nil {
		cmd := exec.Command(g, "-C", root, "check-ignore", "-q", "--", path)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1")
		err := cmd.Run()
		var ee *exec.ExitError
		switch {
		case err == nil:
			return true, "git check-ignore"
		case errors.As(err, &ee) && ee.ExitCode() == 1:
			return false, "git check-ignore"
		}
	}
	base := filepath.Base(path)
	rel, _ := filepath.Rel(root, path)
	for d := filepath.Dir(path); ; d = filepath.Dir(d) {
		data, _ := os.ReadFile(filepath.Join(d, ".gitignore"))
		for _, l := range strings.Split(string(data), "\n") {
			l = strings.TrimSpace(l)
			if l == "" || l[0] == '#' {
				continue
			}
			if m, _ := filepath.Match(strings.TrimPrefix(l, "/"), base); m {
				return true, ".gitignore"
			}
			if strings.TrimPrefix(l, "/") == rel {
				return true, ".gitignore"
			}
		}
		if d == root || d == filepath.Dir(d) {
			break
		}
	}
	return false, "no .gitignore entry"
}

func checkAudit(o *Options) []Result {
	const name = "audit"
	a := shim.Audit{Path: hermeshome.Layout{Dir: o.Home}.Audit()}
	if _, err := os.Lstat(a.Path); errors.Is(err, os.ErrNotExist) {
		return []Result{ok(name, "no audit log yet")}
	}
	rep, err := a.Verify()
	if err != nil {
		return []Result{fail(name, "", "%v", err)}
	}
	if !rep.OK() {
		var first []string
		for i, p := range rep.Problems {
			if i == 3 {
				first = append(first, fmt.Sprintf("and %d more", len(rep.Problems)-3))
				break
			}
			first = append(first, p.String())
		}
		hint := "hermes-exec audit verify lists them all; keep the damaged file as evidence, then hermes-exec audit rotate"
		for _, p := range rep.Problems {
			if p.Kind == "anchor" || p.Kind == "truncated" || p.Kind == "removed" || p.Kind == "replaced" {
				// A rotation does not mend these: the anchor says
				// what the log held, and only a human may accept
				// that it holds less.
				hint = "hermes-exec audit verify lists them all; once you know why, hermes-exec audit verify --reanchor accepts the log as it is"
				break
			}
		}
		return []Result{fail(name, hint, "the audit chain is broken: %s", strings.Join(first, "; "))}
	}
	n := 0
	var last uint64
	for _, f := range rep.Files {
		n += f.Records
		last = f.LastSeq
	}
	msg := fmt.Sprintf("the chain verifies: %d records in %d file(s), up to seq %d", n, len(rep.Files), last)
	if len(rep.Notes) > 0 {
		msg += " (" + strings.Join(rep.Notes, "; ") + ")"
	}
	return []Result{ok(name, "%s", msg)}
}

// checkBackend says whether the sandbox backend can work here, and which
// limits it can enforce. Problems are errors when the configuration
// chooses the sandbox, warnings otherwise.
func checkBackend(o *Options) []Result {
	path := o.ConfigPath
	if path == "" {
		path = hermeshome.Layout{Dir: o.Home}.Config()
	}
	cfg, err := loadConfig(o, path)
	if err != nil {
		cfg = config.Defaults()
	}
	sandbox := cfg.Terminal.Backend == config.BackendSandbox
	bad := func(check, fix, format string, args ...any) Result {
		if sandbox {
			return fail(check, fix, format, args...)
		}
		r := warn(check, fix, format, args...)
		r.Message += " (only the sandbox backend needs it)"
		return r
	}
	var rs []Result
	// Namespaces: make them for real, as the sandbox will.
	if err := tryNamespaces(o.UID); err != nil {
		rs = append(rs, bad("namespaces", "allow user namespaces (sysctl kernel.unprivileged_userns_clone=1 / user.max_user_namespaces, or AppArmor's restrict_unprivileged_userns=0)", "cannot create user, mount, pid, ipc, uts, net and cgroup namespaces: %v", err))
	} else {
		rs = append(rs, ok("namespaces", "user, mount, pid, ipc, uts, net and cgroup namespaces can be created"))
	}
	rs = append(rs, checkCgroups(o, cfg, bad)...)
	if b, err := os.ReadFile("/proc/sys/kernel/seccomp/actions_avail"); err != nil {
		rs = append(rs, bad("seccomp", "use a kernel with CONFIG_SECCOMP_FILTER", "seccomp filters are not available: %v", err))
	} else if !strings.Contains(string(b), "user_notif") {
		rs = append(rs, warn("seccomp", "a kernel of 5.0 or later has it", "seccomp filters work, but user notification does not (actions: %s)", strings.TrimSpace(string(b))))
	} else {
		rs = append(rs, ok("seccomp", "seccomp filters and user notification are available"))
	}
	if lib := findLib("libseccomp.so.2"); lib == "" {
		rs = append(rs, bad("libseccomp", "apt-get install libseccomp2", "libseccomp.so.2 is not installed: the sandbox helper cannot start"))
	} else {
		rs = append(rs, ok("libseccomp", "%s", lib))
	}
	rs = append(rs, checkHelper(o, bad))
	rs = append(rs, checkContainerd(cfg))
	return rs
}

func findLib(name string) string {
	for _, d := range []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib"} {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if b, err := os.ReadFile("/etc/ld.so.cache"); err == nil && strings.Contains(string(b), name) {
		return name + " (in the dynamic linker's cache)"
	}
	return ""
}

func tryNamespaces(uid int) error {
	t, err := exec.LookPath("true")
	if err != nil {
		t = "/bin/true"
	}
	cmd := exec.Command(t)
	cmd.SysProcAttr = nsAttr(uid)
	if out, err := cmd.CombinedOutput(); err != nil {
		if len(out) > 0 {
			return fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out)))
		}
		return err
	}
	return nil
}

// checkCgroups reports the cgroup version and the limits this user can
// have enforced.
func checkCgroups(o *Options, cfg *config.Config, bad func(string, string, string, ...any) Result) []Result {
	const name = "cgroups"
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err != nil {
		return []Result{bad(name, "mount cgroup2 on /sys/fs/cgroup", "no cgroup file system: %v", err)}
	}
	var can []string
	var why string
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		ctrl := "/sys/fs/cgroup/cgroup.controllers"
		if o.UID != 0 {
			// Rootless: only a delegated subtree of our own cgroup.
			self, _ := os.ReadFile("/proc/self/cgroup")
			rel := strings.TrimPrefix(strings.TrimSpace(string(self)), "0::")
			dir := filepath.Join("/sys/fs/cgroup", rel)
			if unix.Access(dir, unix.W_OK) != nil {
				why = fmt.Sprintf("%s is not delegated to you (systemd's Delegate=yes does that)", dir)
			} else {
				ctrl = filepath.Join(dir, "cgroup.controllers")
			}
		}
		b, _ := os.ReadFile(ctrl)
		have := strings.Fields(string(b))
		if why == "" {
			for lim, c := range map[string]string{"memory": "memory", "cpus": "cpu", "pids": "pids"} {
				if contains(have, c) {
					can = append(can, lim)
				}
			}
		}
	} else {
		if o.UID == 0 {
			for lim, c := range map[string]string{"memory": "memory", "cpus": "cpu", "pids": "pids"} {
				if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", c)); err == nil {
					can = append(can, lim)
				}
			}
		} else {
			why = "cgroup v1 delegates nothing to ordinary users"
		}
	}
	version := "v1"
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		version = "v2"
	}
	sortStrings(can)
	var rs []Result
	missing := func(lim string) bool { return !contains(can, lim) }
	var cannot []string
	if cfg.Container.Memory != "" && missing("memory") {
		cannot = append(cannot, "container.memory")
	}
	if cfg.Container.CPUs > 0 && missing("cpus") {
		cannot = append(cannot, "container.cpus")
	}
	enf := strings.Join(can, ", ")
	if enf == "" {
		enf = "none by cgroup"
	}
	msg := fmt.Sprintf("cgroup %s; limits enforceable here: %s", version, enf)
	if missing("pids") {
		msg += "; pids through RLIMIT_NPROC"
	}
	if why != "" {
		msg += " (" + why + ")"
	}
	if len(cannot) > 0 {
		rs = append(rs, bad(name, "unset "+strings.Join(cannot, " and ")+", or run with a delegated cgroup", "%s: %s cannot be enforced, so the sandbox refuses to start", msg, strings.Join(cannot, " and ")))
	} else {
		rs = append(rs, ok(name, "%s", msg))
	}
	return rs
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func sortStrings(xs []string) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && xs[j] < xs[j-1]; j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}

const helperName = sibling.Sandbox

func checkHelper(o *Options, bad func(string, string, string, ...any) Result) Result {
	const name = "sandbox"
	if o.Executable == "" {
		return warn(name, "", "cannot tell where hermes-exec is installed")
	}
	p := filepath.Join(filepath.Dir(o.Executable), helperName)
	fi, err := os.Stat(p)
	if err != nil {
		return bad(name, "install it next to hermes-exec (./install.sh does)", "%s is missing: %v", p, err)
	}
	if fi.Mode()&0o111 == 0 || !fi.Mode().IsRegular() {
		return bad(name, "chmod 755 "+p, "%s is not an executable file", p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, p, "--version").Output()
	v := strings.TrimSpace(string(out))
	if err != nil || v == "" {
		return bad(name, "reinstall both programs together (./install.sh)", "%s does not say its version (an older build?)", p)
	}
	v = strings.TrimPrefix(strings.Fields(v)[len(strings.Fields(v))-1], "v")
	if v != o.Version {
		return bad(name, "reinstall both programs together (./install.sh)", "%s is version %s, hermes-exec is %s: they must come from the same build", p, v, o.Version)
	}
	return ok(name, "%s, version %s like hermes-exec", p, v)
}

func checkContainerd(cfg *config.Config) Result {
	const name = "containerd"
	sock := "/run/containerd/containerd.sock"
	if _, err := os.Stat(sock); err != nil {
		if cfg.Terminal.Backend == config.BackendContainerd {
			return fail(name, "start containerd", "terminal.backend is containerd, but %s is missing", sock)
		}
		return ok(name, "containerd not present (only the containerd backend needs it)")
	}
	c, err := net.DialTimeout("unix", sock, 2*time.Second)
	if err != nil {
		if cfg.Terminal.Backend == config.BackendContainerd {
			return fail(name, "start containerd, or check the socket's permissions", "cannot connect to %s: %v", sock, err)
		}
		return warn(name, "", "cannot connect to %s: %v (only the containerd backend needs it)", sock, err)
	}
	c.Close()
	version := ""
	if p, err := exec.LookPath("containerd"); err == nil {
		if out, err := exec.Command(p, "--version").Output(); err == nil {
			version = ", " + strings.TrimSpace(string(out))
		}
	}
	return ok(name, "%s accepts connections%s", sock, version)
}
