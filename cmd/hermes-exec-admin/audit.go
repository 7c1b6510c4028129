package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"hermes-exec/cmd/internal/wrapper"
	"hermes-exec/internal/termsafe"
	"hermes-exec/shim"

	"github.com/urfave/cli/v2"
)

func auditLog() shim.Audit {
	return shim.Audit{Path: wrapper.HomeLayout().Audit()}
}

func auditCommand() *cli.Command {
	return &cli.Command{
		Name:      "audit",
		Usage:     "show, verify or rotate the audit log ($HERMES_HOME/audit.jsonl)",
		UsageText: "hermes-exec audit [--tail N] [--json]\nhermes-exec audit verify [--json] [--anchor SEQ:SHA256]\nhermes-exec audit rotate\nhermes-exec audit head",
		Description: `Every record carries a sequence number (seq) and the SHA-256 of the line
before it (prev), from a random genesis record on: an edited, removed or
reordered record breaks the chain, and "audit verify" names it by line and
seq. Whoever can write the file can still rewrite all of it, and cutting
records off the end leaves a valid, shorter chain: keep the head ("audit
head") somewhere else and pass it to "verify --anchor" to catch that.

Command text is shown with control characters escaped (\x1b, \r, \u202e),
so a command cannot repaint or hide its own line.`,
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "tail", Aliases: []string{"n"}, Value: 20, Usage: "how many of the last records (0: all)"},
			&cli.BoolFlag{Name: "json", Usage: "print the records as JSON Lines"},
		},
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageError(fmt.Sprintf("unknown audit command %q (verify, rotate, head)", c.Args().First()))
			}
			recs, err := auditLog().Tail(c.Int("tail"))
			if err != nil {
				return err
			}
			if c.Bool("json") {
				enc := json.NewEncoder(os.Stdout)
				for _, r := range recs {
					if err := enc.Encode(r); err != nil {
						return err
					}
				}
				return nil
			}
			return printAudit(os.Stdout, recs)
		},
		Subcommands: []*cli.Command{auditVerifyCommand(), auditRotateCommand(), auditHeadCommand()},
	}
}

// printAudit is the table `audit --tail` prints. Every field that came
// from a command is escaped for the terminal.
func printAudit(w io.Writer, recs []shim.Record) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tDECISION\tCHANNEL\tEXIT\tCOMMAND")
	for _, r := range recs {
		exit := "-"
		if r.Exit != nil {
			exit = fmt.Sprint(*r.Exit)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Time.Local().Format(time.DateTime), termsafe.Visible(r.Decision), termsafe.Visible(r.Channel), exit, oneLine(r.Command, 80))
	}
	return tw.Flush()
}

// oneLine shows s on one line of at most max characters: control
// characters, newlines included, are escaped (a \r must show, not hide
// what precedes it), then runs of spaces become one.
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(termsafe.Visible(s)), " ")
	if utf8.RuneCountInString(s) > max {
		n := 0
		for i := range s {
			if n == max-1 {
				return s[:i] + "…"
			}
			n++
		}
	}
	return s
}

func auditVerifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "check the hash chain; exit 1 when a record was edited, removed or reordered",
		UsageText: "hermes-exec audit verify [--json] [--reanchor] [--anchor SEQ:SHA256 ...]",
		Description: `Reads audit.jsonl and the rotated files its chain continues from, and prints
every problem as FILE:LINE: seq N: KIND: what is wrong. KIND is changed,
removed, reordered, duplicate, forked, damaged, unchained, restart, head,
torn, link, truncated, replaced or anchor. A log written before the chain existed is not
broken: verify says at which line the chain starts.

$HERMES_HOME/audit.anchor keeps the chain's genesis, its first seq and a
head: the newest record an intact verify saw, or the first record of each
rotation. verify reports a log that no longer holds it (its end cut off,
replaced, deleted) and a removed start (an old rotated file deleted);
--reanchor accepts the log as it is now (after removing old files on
purpose). The anchor is written by the same user as the log, so it is
evidence against careless change, not proof against that user: --anchor
takes a head printed earlier by "audit head" and kept where that user
cannot write; the log must still hold that record, unchanged. verify says
what it proves and what it cannot.

Exit status: 0 intact, 1 problems found, 64 usage.`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print the report as JSON"},
			&cli.StringSliceFlag{Name: "anchor", Usage: "a head SEQ:SHA256 that must still be in the log"},
			&cli.BoolFlag{Name: "reanchor", Usage: "accept the log as it is now (old files removed on purpose) as the anchor for the next verify"},
		},
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			var anchors []shim.Head
			for _, s := range c.StringSlice("anchor") {
				h, err := parseAnchor(s)
				if err != nil {
					return usageError(err.Error())
				}
				anchors = append(anchors, h)
			}
			a := auditLog()
			rep, err := a.Verify(anchors...)
			if err != nil {
				return err
			}
			// The anchor moves on after an intact verify (or when told
			// to accept the log as it is), never past damage unasked.
			if rep.OK() || c.Bool("reanchor") {
				if err := a.SaveAnchor(rep); err != nil {
					return fmt.Errorf("saving the anchor: %w", err)
				}
				if !rep.OK() {
					fmt.Fprintf(os.Stderr, "hermes-exec: audit: the problems above are accepted: the next verify checks against the log as it is now\n")
				}
			}
			if c.Bool("json") {
				if rep.Problems == nil {
					rep.Problems = []shim.Problem{}
				}
				if err := json.NewEncoder(os.Stdout).Encode(rep); err != nil {
					return err
				}
			} else {
				printVerify(os.Stdout, os.Stderr, a.Path, rep)
			}
			if !rep.OK() {
				return exitCoder{1}
			}
			return nil
		},
	}
}

func printVerify(out, errw io.Writer, path string, rep shim.Report) {
	for _, p := range rep.Problems {
		fmt.Fprintln(errw, p.String())
	}
	for _, n := range rep.Notes {
		fmt.Fprintln(out, "note: "+n)
	}
	for _, s := range rep.Proves {
		fmt.Fprintln(out, "proves: "+s)
	}
	for _, s := range rep.Unproven {
		fmt.Fprintln(out, "cannot prove: "+s)
	}
	if len(rep.Files) == 0 {
		verdict := "no audit log yet"
		if !rep.OK() {
			verdict = fmt.Sprintf("no audit log: %d problem(s)", len(rep.Problems))
		}
		fmt.Fprintf(out, "%s: %s\n", path, verdict)
		return
	}
	records := 0
	for _, f := range rep.Files {
		records += f.Records
	}
	last := rep.Files[len(rep.Files)-1]
	verdict := "intact"
	if !rep.OK() {
		verdict = fmt.Sprintf("%d problem(s)", len(rep.Problems))
	}
	fmt.Fprintf(out, "%s: %d chained records in %d file(s), up to seq %d: %s\n", path, records, len(rep.Files), last.LastSeq, verdict)
}

// parseAnchor reads SEQ:SHA256.
func parseAnchor(s string) (shim.Head, error) {
	seq, hash, ok := strings.Cut(strings.TrimSpace(s), ":")
	n, err := strconv.ParseUint(seq, 10, 64)
	if !ok || err != nil || len(hash) != 64 || strings.Trim(strings.ToLower(hash), "0123456789abcdef") != "" {
		return shim.Head{}, errors.New("--anchor: want SEQ:SHA256 as printed by `hermes-exec audit head`, got " + strconv.Quote(s))
	}
	return shim.Head{Seq: n, SHA256: strings.ToLower(hash)}, nil
}

func auditRotateCommand() *cli.Command {
	return &cli.Command{
		Name:  "rotate",
		Usage: "move the log aside (audit.TIMESTAMP.jsonl) and continue its chain in a new file",
		Description: `The log also rotates by itself when it would grow past 64 MiB. The new
file's first record carries the hash of the old file's last line, so
"audit verify" checks across files.`,
		Action: func(c *cli.Context) error {
			moved, err := auditLog().Rotate()
			if err != nil {
				return err
			}
			if moved == "" {
				fmt.Println("nothing to rotate: the audit log is empty")
				return nil
			}
			fmt.Printf("rotated: the old log is now %s; the chain continues in audit.jsonl\n", moved)
			return nil
		},
	}
}

func auditHeadCommand() *cli.Command {
	return &cli.Command{
		Name:  "head",
		Usage: "print the newest record's SEQ:SHA256, to keep elsewhere as an anchor",
		Action: func(c *cli.Context) error {
			h, err := auditLog().ReadHead()
			if err != nil {
				return err
			}
			fmt.Printf("%d:%s\n", h.Seq, h.SHA256)
			return nil
		},
	}
}
