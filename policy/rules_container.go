package policy

import (
	"path"
	"strings"
)

// Containers that give up isolation, and infrastructure teardown.

func init() {
	register(dockerRule, "docker", "podman", "nerdctl")
	register(kubectlRule, "kubectl", "oc", "k3s")
	register(helmRule, "helm")
	register(terraformRule, "terraform", "tofu", "terragrunt", "pulumi", "cdk", "serverless", "sls")
	register(awsRule, "aws")
	register(gsutilRule, "gsutil")
	register(gcloudRule, "gcloud", "az", "doctl", "flyctl", "fly", "heroku", "vercel", "netlify", "firebase", "hcloud", "linode-cli", "scw", "ibmcloud")
	register(composeRule, "docker-compose", "podman-compose")
}

func dockerGlobalArg(s string) bool {
	switch s {
	case "-H", "--host", "--context", "-c", "--config", "-l", "--log-level", "--tlscacert", "--tlscert", "--tlskey":
		return true
	}
	return false
}

// dockerRunArg lists run/create/exec options that take a value.
func dockerRunArg(s string) bool {
	switch s {
	case "-a", "--attach", "--add-host", "--annotation", "--blkio-weight", "--cap-add", "--cap-drop",
		"--cgroup-parent", "--cgroupns", "--cidfile", "--cpu-period", "--cpu-quota", "--cpu-shares", "-c", "--cpus",
		"--cpuset-cpus", "--cpuset-mems", "--device", "--device-cgroup-rule", "--dns", "--dns-option", "--dns-search",
		"--domainname", "--entrypoint", "-e", "--env", "--env-file", "--expose", "--gpus", "--group-add",
		"--health-cmd", "--health-interval", "--health-retries", "--health-timeout", "--health-start-period", "-h",
		"--hostname", "--ip", "--ip6", "--ipc", "--isolation", "-l", "--label", "--label-file", "--link",
		"--log-driver", "--log-opt", "--mac-address", "-m", "--memory", "--memory-reservation", "--memory-swap",
		"--mount", "--name", "--network", "--net", "--network-alias", "--oom-score-adj", "--pid", "--pids-limit",
		"--platform", "-p", "--publish", "--pull", "--restart", "--runtime", "--security-opt", "--shm-size",
		"--stop-signal", "--stop-timeout", "--storage-opt", "--sysctl", "--tmpfs", "--ulimit", "-u", "--user",
		"--userns", "--uts", "-v", "--volume", "--volume-driver", "--volumes-from", "-w", "--workdir",
		"--detach-keys", "--env-merge", "--chroot", "--arch", "--os", "--variant", "--secret", "--init-path":
		return true
	}
	return false
}

var sensitiveMounts = []string{"/", "/etc", "/root", "/home", "/var/run/docker.sock", "/run/docker.sock", "/run", "/var/run", "/proc", "/sys", "/dev", "/boot", "/usr", "/var", "/lib", "/bin", "/sbin", "/var/lib/docker", "/run/containerd", "/run/podman"}

func dockerRule(c *cmd) {
	args := c.args()
	i := 0
	for i < len(args) && args[i].static && strings.HasPrefix(args[i].s, "-") {
		if dockerGlobalArg(args[i].s) {
			i++
		}
		i++
	}
	if i >= len(args) || !args[i].static {
		return
	}
	sub := args[i].s
	rest := args[i+1:]
	if (sub == "container" || sub == "image" || sub == "volume" || sub == "system" || sub == "network" || sub == "builder" || sub == "buildx") && len(rest) > 0 && rest[0].static {
		if sub == "container" {
			sub = rest[0].s
			rest = rest[1:]
		} else {
			sub = sub + " " + rest[0].s
			rest = rest[1:]
		}
	}
	switch sub {
	case "run", "create", "exec":
		dockerRunFlags(c, sub, rest)
		if sub == "exec" {
			containerExecArgv(c, rest)
		}
	case "system prune", "image prune", "builder prune", "buildx prune":
		for _, a := range rest {
			if a.is("-a", "--all", "--volumes") || shortBundleHas(a, "a", "") {
				c.emit(RuleContainerDestroy, c.name+" "+sub+" "+a.s+" deletes images, caches or volumes")
				return
			}
		}
	case "system reset":
		c.emit(RuleContainerDestroy, c.name+" system reset deletes every container, image and volume")
	case "volume rm", "volume prune", "volume remove":
		c.emit(RuleContainerDestroy, c.name+" "+sub+" deletes data volumes")
	case "rm", "rmi", "image rm", "kill":
		force := false
		for _, a := range rest {
			if a.is("-f", "--force", "-v", "--volumes") || shortBundleHas(a, "fv", "") {
				force = true
			}
		}
		for _, a := range rest {
			if !a.static && (len(a.substs) > 0 || a.split) && force && !filteredListing(c, a) {
				c.emit(RuleContainerDestroy, c.name+" "+sub+" -f on containers or images listed at run time (possibly all)")
				return
			}
		}
	case "compose":
		composeDown(c, rest)
	}
}

// filteredListing reports a $(docker ps ... --filter ...) operand: the
// containers it lists are narrowed (exited ones, one label), not all.
func filteredListing(c *cmd, a arg) bool {
	if len(a.substs) != 1 {
		return false
	}
	t := nodeText(c.w.src, a.substs[0])
	return strings.Contains(t, "--filter") || strings.Contains(t, " -f ") || strings.Contains(t, " -f=")
}

// containerExecArgv classifies the command `docker exec [OPTIONS] CONTAINER
// CMD...` runs: inside a container, but on its (often production) data.
func containerExecArgv(c *cmd, rest []arg) {
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		if !a.static {
			return
		}
		if a.s == "--" {
			continue
		}
		if strings.HasPrefix(a.s, "-") {
			name, _, hasEq := strings.Cut(a.s, "=")
			if !hasEq && (dockerRunArg(name) || !strings.HasPrefix(name, "--") && len(name) > 2 && dockerRunArg("-"+name[len(name)-1:])) {
				j++
			}
			continue
		}
		if j+1 < len(rest) {
			c.w.execCommand(c, rest[j+1:], c.name+" exec")
		}
		return
	}
}

func dockerRunFlags(c *cmd, sub string, rest []arg) {
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		if !a.static || !strings.HasPrefix(a.s, "-") {
			if sub != "exec" || j > 0 {
				break
			}
			continue
		}
		name, val, hasEq := strings.Cut(a.s, "=")
		v := arg{s: val, static: true}
		if !hasEq && dockerRunArg(name) && j+1 < len(rest) {
			j++
			v = rest[j]
		}
		// -it, -dit, -itv ...: bundles of flags, possibly ending in -v/-e.
		if !strings.HasPrefix(name, "--") && len(name) > 2 {
			last := "-" + name[len(name)-1:]
			if dockerRunArg(last) && !hasEq && j+1 < len(rest) {
				name = last
				j++
				v = rest[j]
			}
		}
		switch name {
		case "--privileged":
			if !hasEq || val != "false" {
				c.emit(RuleContainerEscape, c.name+" "+sub+" --privileged gives the container full access to the host")
				return
			}
		case "--cap-add":
			c.emit(RuleContainerEscape, c.name+" "+sub+" --cap-add grants extra kernel capabilities")
			return
		case "--security-opt":
			if v.static && (strings.Contains(v.s, "unconfined") || strings.Contains(v.s, "disable") || strings.Contains(v.s, "no-new-privileges=false")) || !v.static {
				c.emit(RuleContainerEscape, c.name+" "+sub+" --security-opt "+v.s+" turns off confinement")
				return
			}
		case "--pid", "--ipc", "--userns", "--uts", "--cgroupns", "--network", "--net":
			if v.is("host") && name != "--network" && name != "--net" {
				c.emit(RuleContainerEscape, c.name+" "+sub+" "+name+"=host shares the host's namespace")
				return
			}
		case "--device", "--device-cgroup-rule", "--gpus":
			if name != "--gpus" {
				c.emit(RuleContainerEscape, c.name+" "+sub+" "+name+" exposes host devices")
				return
			}
		case "-v", "--volume", "--mount":
			src := mountSource(v, name == "--mount")
			if src.static {
				for _, p := range c.w.paths(src) {
					for _, m := range sensitiveMounts {
						under := m != "/" && m != "/home" && m != "/run" && m != "/var" && m != "/usr" && m != "/var/run" && strings.HasPrefix(p, m+"/")
						if strings.TrimSuffix(p, "/") == m || p == "/" && m == "/" || under {
							c.emit(RuleContainerEscape, c.name+" "+sub+" mounts the host path "+src.s+" into the container")
							return
						}
					}
					if comps := pathComponents(p); len(comps) <= 2 && len(comps) > 0 && comps[0] == "home" {
						c.emit(RuleContainerEscape, c.name+" "+sub+" mounts a home directory ("+src.s+") into the container")
						return
					}
					if r := classifyPath(p); r == riskHome || r == riskHomeSecret || r == riskRoot {
						c.emit(RuleContainerEscape, c.name+" "+sub+" mounts "+src.s+" (home or credentials) into the container")
						return
					}
				}
			} else if !src.static && len(src.substs) > 0 {
				continue
			}
		}
	}
}

// mountSource extracts the host side of -v SRC:DST or --mount src=...
func mountSource(v arg, mount bool) arg {
	if !v.static {
		// $(pwd):/app and $PWD:/src resolve to the working directory.
		return v
	}
	out := v
	if mount {
		out.s = ""
		for _, kv := range strings.Split(v.s, ",") {
			k, val, _ := strings.Cut(kv, "=")
			if k == "source" || k == "src" {
				out.s = val
			}
		}
		if out.s == "" {
			out.static = false
		}
		return out
	}
	src, _, _ := strings.Cut(v.s, ":")
	if !strings.HasPrefix(src, "/") && !strings.HasPrefix(src, ".") && !strings.HasPrefix(src, "~") {
		// A named volume, not a host path.
		out.s = ""
		out.static = false
		return out
	}
	out.s = src
	return out
}

func composeRule(c *cmd) { composeDown(c, c.args()) }

func composeDown(c *cmd, rest []arg) {
	down := false
	for _, a := range rest {
		if a.is("down", "rm") {
			down = true
		}
		if down && (a.is("-v", "--volumes") || shortBundleHas(a, "v", "")) {
			c.emit(RuleContainerDestroy, "compose down -v deletes the project's data volumes")
			return
		}
	}
}

func kubectlRule(c *cmd) {
	args := c.args()
	sub := -1
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a.static && strings.HasPrefix(a.s, "-") {
			if !strings.Contains(a.s, "=") && a.is("-n", "--namespace", "--context", "--kubeconfig", "--cluster", "--user", "-s", "--server", "--token", "--as", "--request-timeout") {
				i++
			}
			continue
		}
		switch {
		case a.is("delete"):
			sub = i
		case a.is("drain"):
			c.emit(RuleContainerDestroy, c.name+" drain evicts every pod from a node")
		case a.is("scale"):
			for _, b := range args[i+1:] {
				if b.is("--replicas=0") {
					c.emit(RuleContainerDestroy, c.name+" scale --replicas=0 takes the workload down")
					return
				}
			}
			for k := i + 1; k+1 < len(args); k++ {
				if args[k].is("--replicas") && args[k+1].is("0") {
					c.emit(RuleContainerDestroy, c.name+" scale --replicas 0 takes the workload down")
					return
				}
			}
		case a.is("run", "debug", "create", "apply"):
			for _, b := range args[i+1:] {
				if !b.static {
					continue
				}
				v := strings.ReplaceAll(b.s, " ", "")
				for _, k := range []string{`"hostPID":true`, `"hostNetwork":true`, `"hostIPC":true`, `"privileged":true`, `"hostPath"`} {
					if strings.Contains(v, k) {
						c.emit(RuleContainerEscape, c.name+" "+a.s+" with "+k+" gives the pod the node's processes, network or files")
						return
					}
				}
				if b.is("--privileged", "--privileged=true", "--profile=sysadmin") {
					c.emit(RuleContainerEscape, c.name+" "+a.s+" "+b.s+" runs a privileged pod")
					return
				}
			}
		case a.is("exec"):
			for k := i + 1; k < len(args); k++ {
				if args[k].is("--") && k+1 < len(args) {
					c.w.execCommand(c, args[k+1:], c.name+" exec")
					return
				}
			}
		}
		break
	}
	if sub < 0 {
		return
	}
	for _, a := range args[sub+1:] {
		switch {
		case a.is("namespace", "namespaces", "ns", "node", "nodes", "no", "pv", "persistentvolume", "persistentvolumes", "pvc", "persistentvolumeclaim", "persistentvolumeclaims", "crd", "crds", "customresourcedefinition", "customresourcedefinitions", "all", "deployment", "deployments", "deploy", "statefulset", "statefulsets", "sts", "secret", "secrets", "clusterrole", "clusterrolebinding", "daemonset", "ds", "service", "svc"):
			c.emit(RuleContainerDestroy, c.name+" delete "+a.s+" removes cluster resources and their data")
			return
		case a.is("--all", "-A", "--all-namespaces") || a.static && strings.HasPrefix(a.s, "--all="):
			c.emit(RuleContainerDestroy, c.name+" delete "+a.s+" removes every matching resource")
			return
		case a.static && strings.Contains(a.s, "/") && kubeDataResource(a.s[:strings.IndexByte(a.s, '/')]):
			c.emit(RuleContainerDestroy, c.name+" delete "+a.s+" removes cluster resources and their data")
			return
		case !a.static && (len(a.substs) > 0 || a.split):
			c.emit(RuleContainerDestroy, c.name+" delete of resources listed at run time")
			return
		case a.is("-k", "--kustomize", "-R", "--recursive"):
			c.emit(RuleContainerDestroy, c.name+" delete "+a.s+" removes every resource a directory of manifests defines")
			return
		}
	}
	rest := args[sub+1:]
	for k, a := range rest {
		f := ""
		switch {
		case a.is("-f", "--filename") && k+1 < len(rest) && rest[k+1].static:
			f = rest[k+1].s
		case a.static && strings.HasPrefix(a.s, "--filename="):
			f = a.s[len("--filename="):]
		default:
			continue
		}
		if ext := path.Ext(f); f == "-" || strings.HasSuffix(f, "/") || ext == "" || strings.Contains(f, "://") {
			c.emit(RuleContainerDestroy, c.name+" delete -f "+f+" removes every resource those manifests define")
			return
		}
	}
}

// kubeDataResource reports resource kinds whose deletion loses data or
// takes a service down (kubectl delete KIND/NAME).
func kubeDataResource(kind string) bool {
	return isOneOf(kind, "namespace", "namespaces", "ns", "node", "nodes", "no", "pv", "persistentvolume", "pvc",
		"persistentvolumeclaim", "crd", "customresourcedefinition", "deployment", "deployments", "deploy",
		"statefulset", "statefulsets", "sts", "secret", "secrets", "daemonset", "daemonsets", "ds", "service",
		"services", "svc", "clusterrole", "clusterrolebinding", "configmap", "cm", "ingress", "ing")
}

func helmRule(c *cmd) {
	for _, a := range c.args() {
		if a.is("uninstall", "delete", "del", "un") {
			c.emit(RuleContainerDestroy, "helm "+a.s+" removes a release and its resources")
			return
		}
		if a.static && !strings.HasPrefix(a.s, "-") {
			return
		}
	}
}

func terraformRule(c *cmd) {
	args := c.args()
	verb := ""
	for _, a := range args {
		if a.static && !strings.HasPrefix(a.s, "-") {
			if verb == "run-all" || verb == "run" {
				verb = a.s // terragrunt run-all destroy
				break
			}
			verb = a.s
			if verb != "run-all" && verb != "run" {
				break
			}
		}
	}
	switch verb {
	case "destroy", "remove":
		c.emit(RuleContainerDestroy, c.name+" "+verb+" tears down infrastructure")
		return
	case "apply", "up", "deploy", "import":
		for _, a := range args {
			if a.is("-auto-approve", "--auto-approve", "-auto-approve=true", "--yes", "-y", "--skip-preview", "-destroy", "--destroy", "--require-approval=never", "--force") {
				c.emit(RuleContainerDestroy, c.name+" "+verb+" "+a.s+" changes infrastructure without review")
				return
			}
		}
	case "state", "workspace":
		for _, a := range args {
			if a.is("rm", "delete", "push") {
				c.emit(RuleContainerDestroy, c.name+" "+verb+" "+a.s+" rewrites infrastructure state")
				return
			}
		}
	case "stack":
		for _, a := range args {
			if a.is("rm", "remove") {
				c.emit(RuleContainerDestroy, c.name+" stack rm deletes a stack")
				return
			}
		}
	}
}

func awsRule(c *cmd) {
	args := c.args()
	words := subcommandWords(args, 2, "--profile", "--region", "--output", "--endpoint-url", "--query", "--color",
		"--ca-bundle", "--cli-read-timeout", "--cli-connect-timeout", "--cli-binary-format")
	if len(words) < 2 {
		return
	}
	svc, op := words[0], words[1]
	if svc == "s3" {
		recursive, force := hasStatic(args, "--recursive"), hasStatic(args, "--force")
		switch {
		case op == "rm" && recursive, op == "rb" && force:
			c.emit(RuleContainerDestroy, "aws s3 "+op+" deletes buckets or every object under a prefix")
		case op == "sync" && hasStatic(args, "--delete"):
			c.emit(RuleContainerDestroy, "aws s3 sync --delete removes objects")
		case op == "cp" || op == "sync" || op == "mv":
			exfilSources(c, nonOptions(args)[2:], arg{}, "aws s3 "+op)
		}
		return
	}
	if _, ok := destroyWord(op); ok && !strings.HasPrefix(op, "reset-") || strings.Contains(op, "-deletion") || op == "stop-logging" {
		c.emit(RuleContainerDestroy, "aws "+svc+" "+op+" deletes or disables cloud resources")
	}
}

func nonOptions(args []arg) []arg {
	var out []arg
	for _, a := range args {
		if !(a.static && strings.HasPrefix(a.s, "-")) {
			out = append(out, a)
		}
	}
	return out
}

func gsutilRule(c *cmd) {
	args := c.args()
	rm := false
	for _, a := range args {
		if a.is("rm", "rb") {
			rm = true
		}
		if rm && (a.is("-r", "-R", "-a", "-f") || shortBundleHas(a, "rRa", "")) {
			c.emit(RuleContainerDestroy, "gsutil rm -r deletes objects recursively")
			return
		}
	}
	if hasStatic(args, "rb") {
		c.emit(RuleContainerDestroy, "gsutil rb deletes a bucket")
	}
}

func gcloudRule(c *cmd) {
	args := c.args()
	positional := 0
	for i, a := range args {
		if !a.static || strings.HasPrefix(a.s, "-") {
			continue
		}
		positional++
		if positional > 4 {
			return // words past the subcommand path are names
		}
		if c.name == "gcloud" && a.s == "storage" && i+1 < len(args) && args[i+1].is("rm") && (hasStatic(args, "-r") || hasStatic(args, "--recursive")) {
			c.emit(RuleContainerDestroy, "gcloud storage rm -r deletes objects recursively")
			return
		}
		verb, ok := destroyWord(a.s)
		if !ok && a.s == "stop" && (c.name == "gcloud" || c.name == "az") {
			verb, ok = a.s, true
		}
		if !ok || c.name == "gcloud" && verb == "rm" && !(hasStatic(args, "-r") || hasStatic(args, "--recursive")) {
			continue
		}
		c.emit(RuleContainerDestroy, c.name+" ... "+a.s+" deletes or stops cloud resources")
		return
	}
}
