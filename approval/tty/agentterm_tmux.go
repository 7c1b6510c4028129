package tty

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// tmuxClients asks the tmux server pid (running exe) which terminals its
// clients attached to the session of the pane on /dev/pts/pane are on. The
// server is asked through its own listening socket, found among its
// descriptors, with its own executable, so neither $TMUX nor PATH (both
// the agent's to set) decide which server answers.
func (p procFS) tmuxClients(pid int, exe string, pane int) ([]uint64, error) {
	sock, err := p.listeningSocket(pid)
	if err != nil {
		return nil, err
	}
	panes, err := tmuxList(exe, sock, "list-panes", "-a", "-F", "#{pane_tty} #{session_id}")
	if err != nil {
		return nil, err
	}
	session := ""
	for _, l := range panes {
		if l[0] == "/dev/pts/"+strconv.Itoa(pane) {
			session = l[1]
		}
	}
	if session == "" {
		return nil, fmt.Errorf("no pane of it is /dev/pts/%d", pane)
	}
	clients, err := tmuxList(exe, sock, "list-clients", "-F", "#{client_tty} #{session_id}")
	if err != nil {
		return nil, err
	}
	var out []uint64
	for _, l := range clients {
		var st unix.Stat_t
		if l[1] == session && unix.Stat(l[0], &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFCHR {
			out = append(out, uint64(st.Rdev))
		}
	}
	return out, nil
}

// tmuxList runs a tmux listing command and splits its lines in two fields.
func tmuxList(exe, sock string, args ...string) ([][2]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	c := exec.CommandContext(ctx, exe, append([]string{"-S", sock}, args...)...)
	c.Env = []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		return nil, fmt.Errorf("tmux %s: %v %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	var rows [][2]string
	for _, l := range strings.Split(string(out), "\n") {
		if a, b, ok := strings.Cut(l, " "); ok {
			rows = append(rows, [2]string{a, b})
		}
	}
	return rows, nil
}

// listeningSocket is the path of the Unix socket process pid listens on.
func (p procFS) listeningSocket(pid int) (string, error) {
	fdDir := filepath.Join(p.root, strconv.Itoa(pid), "fd")
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		return "", err
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		l, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
		if err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	// Num RefCount Protocol Flags Type St Inode Path
	b, err := p.read(pid, "net/unix")
	if err != nil {
		return "", err
	}
	const acceptCon = 0x10000 // __SO_ACCEPTCON: a listening socket
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 8 || !inodes[f[6]] {
			continue
		}
		if flags, err := strconv.ParseUint(f[3], 16, 32); err == nil && flags&acceptCon != 0 && strings.HasPrefix(f[7], "/") {
			return f[7], nil
		}
	}
	return "", errors.New("it listens on no socket that can be found")
}
