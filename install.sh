#!/usr/bin/env bash
# Builds hermes-exec, installs the binary and creates $HERMES_HOME with a
# commented config.yaml. An existing config.yaml is never overwritten.
#
#   ./install.sh                 # installs to /usr/local/bin (root) or ~/.local/bin
#   PREFIX=/opt/hermes ./install.sh
set -euo pipefail

cd "$(dirname "$0")"

if [ "$(id -u)" = 0 ]; then
	prefix=${PREFIX:-/usr/local}
else
	prefix=${PREFIX:-$HOME/.local}
fi

# Go and git are not apt packages here: Go comes from go.dev (Debian's may be
# too old for go.mod), git describes the version.
for tool in go git; do
	if ! command -v "$tool" >/dev/null; then
		case $tool in
		go) echo "install.sh: go is not on PATH: install Go (the version go.mod names) and put its bin directory on PATH" >&2 ;;
		git) echo "install.sh: git is not on PATH: install it (apt-get install git)" >&2 ;;
		esac
		exit 1
	fi
done

need_pkgs=()
command -v gcc >/dev/null || need_pkgs+=(gcc)
command -v make >/dev/null || need_pkgs+=(make)
[ -e /usr/include/seccomp.h ] || need_pkgs+=(libseccomp-dev)
command -v bash >/dev/null || need_pkgs+=(bash)
if [ ${#need_pkgs[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "install.sh: installing ${need_pkgs[*]}" >&2
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
	else
		echo "install.sh: missing build dependencies: ${need_pkgs[*]} (install them, e.g. apt-get install ${need_pkgs[*]})" >&2
		exit 1
	fi
fi

make install PREFIX="$prefix"
echo "installed hermes-exec, hermes-exec-admin, hermes-exec-sandbox and hermes-exec-containerd in $prefix/bin"

# The user database's home, as hermes-exec reads it ($HOME may be unset or
# wrong, as under docker -u).
user_home=$(getent passwd "$(id -u)" | cut -d: -f6)
home=${HERMES_HOME:-${user_home:-$HOME}/.hermes}
# The rootless sandbox cannot enforce memory and CPU limits on cgroup v1 and
# refuses to start when they are set: only root gets them by default.
if [ "$(id -u)" = 0 ]; then
	limits='  memory: 2g
  cpus: 2
'
else
	limits='  # memory and cpus need root on cgroup v1 (the rootless sandbox refuses
  # limits it cannot enforce); set them when your system delegates cgroups.
'
fi
umask 077
mkdir -p "$home"
chmod 0700 "$home"
if [ -e "$home/config.yaml" ]; then
	echo "kept existing $home/config.yaml"
else
	{
		cat <<'YAML'
# hermes-exec configuration (the same file Hermes Agent reads).

approvals:
  # default: dangerous commands are put to you on the terminal.
  # off: never ask (CI, throwaway containers). Deny rules still hold.
  mode: default
  # Seconds to wait for an answer; no answer means deny.
  timeout: 300
  # Argv prefixes that never ask, e.g. "git push" (whole words only).
  allowlist: []
  # Argv prefixes that are always denied, even with --yolo.
  deny: []
  # Inside a container backend the container is the boundary: skip or ask.
  in_container: skip

terminal:
  # host, or sandbox (libcontainer: read-only root, writable workspace, no network).
  backend: host
  # Variables that may reach commands although they look secret, e.g.
  # SSH_AUTH_SOCK so that git push over ssh works.
  env_passthrough: []

container:
YAML
		printf '%s' "$limits"
		cat <<'YAML'
  pids: 1024
  network: none
  persist: session
  idle: 30m
YAML
	} >"$home/config.yaml"
	chmod 0600 "$home/config.yaml"
	echo "created $home/config.yaml"
fi
