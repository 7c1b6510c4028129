package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"hermes-exec/cmd/internal/wrapper"
	"hermes-exec/policy/config"
	"hermes-exec/pty"
	"hermes-exec/secretstore"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

func secretsCommand() *cli.Command {
	store := func() secretstore.Store {
		s := secretstore.ForHome(wrapper.HomeLayout().Dir)
		s.Passphrase = askPassphrase
		return s
	}
	return &cli.Command{
		Name:      "secrets",
		Usage:     "keep .env values encrypted at rest ($HERMES_HOME/.env.age, age)",
		UsageText: "hermes-exec secrets set NAME [--passphrase] < value\nhermes-exec secrets get NAME\nhermes-exec secrets list\nhermes-exec secrets rm NAME\nhermes-exec secrets edit",
		Description: `The values are encrypted with age in $HERMES_HOME/.env.age; the names are
listed in clear in .env.age.names. The key is a local identity file
($HERMES_HOME/age-identity.txt, 0600, or $HERMES_AGE_IDENTITY), made on
first use, or a passphrase (set --passphrase on the first secret), asked
on the terminal for every read.

Every command hermes-exec runs treats these names as it treats .env's: the
variables are dropped from the command's environment unless
terminal.env_passthrough names them, and their values are redacted in the
audit log.

What it protects against: a copy of .env.age (a backup, a disk image, a
synced folder) without the key; other users. Not: the agent's own uid,
which can read the identity file (or run "secrets get").`,
		Subcommands: []*cli.Command{
			{
				Name:      "set",
				Usage:     "store NAME's value, read from stdin (hidden when typed at a terminal)",
				UsageText: "hermes-exec secrets set NAME [--passphrase] < file\nprintf %s \"$VALUE\" | hermes-exec secrets set NAME",
				Flags:     []cli.Flag{&cli.BoolFlag{Name: "passphrase", Usage: "protect a new store with a passphrase instead of an identity file"}},
				Action: func(c *cli.Context) error {
					// The flag may also follow NAME, as the usage shows
					// it (urfave/cli stops at the first argument).
					passphrase := c.Bool("passphrase")
					var args []string
					for _, a := range c.Args().Slice() {
						if a == "--passphrase" || a == "-passphrase" {
							passphrase = true
							continue
						}
						args = append(args, a)
					}
					if len(args) != 1 {
						return usageError("give one NAME")
					}
					name := args[0]
					if !secretstore.ValidName(name) {
						return usageError(fmt.Sprintf("%q is not a variable name ([A-Za-z_][A-Za-z0-9_]*)", name))
					}
					value, err := readValue(name)
					if err != nil {
						return err
					}
					mode := secretstore.ModeIdentity
					if passphrase {
						mode = secretstore.ModePassphrase
					}
					s := store()
					if m, err := s.Mode(); err == nil && passphrase && m == secretstore.ModeIdentity {
						fmt.Fprintln(os.Stderr, "note: --passphrase only chooses how a new store is protected; this one keeps its identity file")
					}
					err = s.Update(mode, func(es []secretstore.Entry) ([]secretstore.Entry, error) {
						for i := range es {
							if es[i].Name == name {
								es[i].Value = value
								return es, nil
							}
						}
						return append(es, secretstore.Entry{Name: name, Value: value}), nil
					})
					if err != nil {
						return err
					}
					fmt.Fprintf(os.Stderr, "stored %s in %s\n", name, s.Path)
					warnPlainEnv(name)
					return nil
				},
			},
			{
				Name:  "get",
				Usage: "print NAME's value",
				Action: func(c *cli.Context) error {
					name, err := secretName(c)
					if err != nil {
						return err
					}
					es, _, err := store().Load()
					if err != nil {
						return err
					}
					for _, e := range es {
						if e.Name == name {
							fmt.Println(e.Value)
							return nil
						}
					}
					return fmt.Errorf("no secret named %s", name)
				},
			},
			{
				Name:  "list",
				Usage: "print the names, one a line (no key needed)",
				Action: func(c *cli.Context) error {
					names, err := store().Names()
					if err != nil {
						return err
					}
					for _, n := range names {
						fmt.Println(n)
					}
					return nil
				},
			},
			{
				Name:    "rm",
				Aliases: []string{"remove"},
				Usage:   "remove NAME",
				Action: func(c *cli.Context) error {
					name, err := secretName(c)
					if err != nil {
						return err
					}
					found := false
					err = store().Update(secretstore.ModeIdentity, func(es []secretstore.Entry) ([]secretstore.Entry, error) {
						out := es[:0]
						for _, e := range es {
							if e.Name == name {
								found = true
								continue
							}
							out = append(out, e)
						}
						if !found {
							return nil, fmt.Errorf("no secret named %s", name)
						}
						return out, nil
					})
					if err == nil {
						fmt.Fprintf(os.Stderr, "removed %s\n", name)
					}
					return err
				},
			},
			{
				Name:  "edit",
				Usage: "edit all of them in $VISUAL/$EDITOR as NAME=value lines",
				Description: `The clear text exists only while the editor runs, in a 0600 file on
/dev/shm (memory) when there is one, and is removed afterwards. A file that
does not parse is not saved: the store stays as it was.`,
				Action: func(c *cli.Context) error {
					return editSecrets(store())
				},
			},
		},
	}
}

func secretName(c *cli.Context) (string, error) {
	if c.NArg() != 1 {
		return "", usageError("give one NAME")
	}
	n := c.Args().First()
	if !secretstore.ValidName(n) {
		return "", usageError(fmt.Sprintf("%q is not a variable name ([A-Za-z_][A-Za-z0-9_]*)", n))
	}
	return n, nil
}

// readValue reads the value from stdin: hidden at a terminal, else the
// whole input less one final newline. Never from the command line, where
// ps and shell history would see it.
func readValue(name string) (string, error) {
	if pty.IsTerminal(os.Stdin) {
		fmt.Fprintf(os.Stderr, "value for %s (not shown): ", name)
		b, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(os.Stderr)
		return string(b), err
	}
	b, err := io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
	if err != nil {
		return "", err
	}
	v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if v == "" {
		return "", errors.New("empty value on stdin")
	}
	return v, nil
}

// askPassphrase asks on the controlling terminal, never on stdin: the
// agent could answer a prompt on stdin itself.
func askPassphrase(confirm bool) (string, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return "", errors.New("the secrets are protected by a passphrase, and there is no terminal to ask for it on")
	}
	defer tty.Close()
	fmt.Fprint(tty, "passphrase for $HERMES_HOME/.env.age: ")
	p, err := term.ReadPassword(int(tty.Fd()))
	fmt.Fprintln(tty)
	if err != nil || !confirm {
		return string(p), err
	}
	fmt.Fprint(tty, "again: ")
	q, err := term.ReadPassword(int(tty.Fd()))
	fmt.Fprintln(tty)
	if err != nil {
		return "", err
	}
	if !bytes.Equal(p, q) {
		return "", errors.New("the passphrases differ")
	}
	return string(p), nil
}

// warnPlainEnv says when the same name is still in .env in clear.
func warnPlainEnv(name string) {
	names, err := config.DotEnvNames(wrapper.HomeLayout().Env())
	if err != nil {
		return
	}
	for _, n := range names {
		if n == name {
			fmt.Fprintf(os.Stderr, "warning: %s is also in %s, in clear: remove it there\n", name, wrapper.HomeLayout().Env())
		}
	}
}

func editSecrets(s secretstore.Store) error {
	dir := "/dev/shm"
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		dir = ""
		fmt.Fprintln(os.Stderr, "warning: no /dev/shm: the clear text goes to a temporary file on disk while the editor runs")
	}
	return s.Update(secretstore.ModeIdentity, func(es []secretstore.Entry) ([]secretstore.Entry, error) {
		f, err := os.CreateTemp(dir, "hermes-secrets-*.env") // 0600
		if err != nil {
			return nil, err
		}
		defer func() {
			// Overwrite before removing: the clear text must not linger.
			if st, err := f.Stat(); err == nil {
				f.WriteAt(make([]byte, st.Size()), 0)
			}
			f.Close()
			os.Remove(f.Name())
		}()
		header := "# hermes-exec secrets: NAME=value lines. Saved encrypted when the editor exits.\n"
		if _, err := f.WriteString(header + secretstore.FormatDotenv(es)); err != nil {
			return nil, err
		}
		editor := os.Getenv("VISUAL")
		if editor == "" {
			editor = os.Getenv("EDITOR")
		}
		if editor == "" {
			editor = "vi"
		}
		cmd := exec.Command("sh", "-c", editor+` "$1"`, "editor", f.Name())
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("editor: %w (nothing saved)", err)
		}
		b, err := os.ReadFile(f.Name())
		if err != nil {
			return nil, err
		}
		out, err := secretstore.ParseDotenv(string(b))
		if err != nil {
			return nil, fmt.Errorf("%w (nothing saved)", err)
		}
		fmt.Fprintf(os.Stderr, "saved %d secrets to %s\n", len(out), s.Path)
		return out, nil
	})
}
