// Package owner names the user a sandbox runs commands for: uid, gid, home
// from the user database, runtime directory and skill environment. It is
// input to the sandbox (isolate/ocispec builds the spec for it), so that a
// root supervisor can run one for another user; the pure-Go wrapper uses it
// too, so it depends on nothing heavy.
package owner

import (
	"os"
	"path/filepath"

	"hermes-exec/internal/hermeshome"
)

// Owner is the user a sandbox runs commands for.
type Owner struct {
	UID int `json:"uid"`
	GID int `json:"gid"`
	// Home is the owner's home directory from the user database (never
	// $HOME, which a caller can set to anything), symlinks resolved; ""
	// when the database gives none.
	Home string `json:"home"`
	// RuntimeDir is the owner's XDG_RUNTIME_DIR (its sockets are hidden).
	RuntimeDir string `json:"runtimeDir,omitempty"`
	// EnvHome is $HOME when it is not Home: a home the caller's tools
	// use, whose credential stores are hidden too (everything else of
	// it stays as the host has it; HOME=/ hides nothing more).
	EnvHome string `json:"envHome,omitempty"`
	// SkillEnv is the starter's HERMES_SKILL_ENV: the names a skill
	// declared, used when a command's environment has none.
	SkillEnv string `json:"skillEnv,omitempty"`
}

// Current is the owner the running process acts for.
func Current() Owner {
	uid := os.Getuid()
	o := Owner{
		UID:        uid,
		GID:        os.Getgid(),
		Home:       UserHome(uid),
		RuntimeDir: os.Getenv("XDG_RUNTIME_DIR"),
		SkillEnv:   os.Getenv("HERMES_SKILL_ENV"),
	}
	if h := os.Getenv("HOME"); filepath.IsAbs(h) {
		if r, err := filepath.EvalSymlinks(h); err == nil && r != "/" && r != o.Home {
			o.EnvHome = r
		}
	}
	return o
}

// UserHome is uid's home from the user database with symlinks resolved, or
// "" when there is none.
func UserHome(uid int) string {
	h, err := hermeshome.UserHome(uid)
	if err != nil {
		return ""
	}
	if r, err := filepath.EvalSymlinks(h); err == nil {
		return r
	}
	return h
}
