package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/docker/go-units"
	"github.com/urfave/cli/v2"

	cdbackend "hermes-exec/isolate/containerd"
	"hermes-exec/isolate/containerdexec"
	"hermes-exec/isolate/sandbox/execproto"
)

type cdClient struct {
	*containerd.Client
	ctx context.Context
	o   containerdexec.Options
}

const imageDescription = `Images for the containerd backend (container.image) live in containerd's store,
in the namespace container.containerd.namespace (default hermes-exec). No
registry is needed:

   hermes-exec image import FILE.tar            an OCI archive or the output of docker save
   hermes-exec image build --from DIR --name N  a one-layer image of a directory
                                                (debootstrap's output, a busybox tree...)
   hermes-exec image ls                         what is there
   hermes-exec image rm NAME...                 remove images
   hermes-exec image pull REF                   only with a reachable registry

Then set container.image: NAME in config.yaml (and terminal.backend: containerd).`

func imageCommand(o containerdexec.Options) *cli.Command {
	return &cli.Command{
		Name:        "image",
		Usage:       "import, build, list and remove the containerd backend's images",
		Description: imageDescription,
		Subcommands: []*cli.Command{
			{
				Name:      "import",
				Usage:     "import an OCI or docker save archive",
				UsageText: "hermes-exec image import [--name NAME] FILE.tar",
				Description: `Reads the archive into containerd's content store (a progress bar of bytes read
on a terminal, a line per step otherwise), names each image it holds (from the
archive, else --name, else FILE@DIGEST) and unpacks it layer by layer.`,
				Flags: []cli.Flag{&cli.StringFlag{Name: "name", Usage: "name the (single) image in the archive"}},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return cli.Exit("hermes-exec: image import: give one archive (see --help)", 64)
					}
					cl, err := connect(o)
					if err != nil {
						return cli.Exit("hermes-exec: image import: "+err.Error(), 1)
					}
					defer cl.Close()
					names, err := cdbackend.Import(cl.ctx, cl.Client, c.Args().First(), c.String("name"), os.Stderr)
					for _, n := range names {
						fmt.Println(n)
					}
					if err != nil {
						return cli.Exit("hermes-exec: image import: "+err.Error(), 1)
					}
					return nil
				},
			},
			{
				Name:      "build",
				Usage:     "make a one-layer image of a directory, offline",
				UsageText: "hermes-exec image build --from DIR --name NAME [--cmd PROGRAM]...",
				Description: `Packs DIR (owners, modes, links and times kept) as the image's only layer,
writes it with an OCI config and manifest to containerd's store and unpacks it.
For a Debian image: debootstrap --variant=minbase bookworm DIR, then build.`,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "from", Usage: "the directory to pack", Required: true},
					&cli.StringFlag{Name: "name", Usage: "the image's name, e.g. local/debian:12", Required: true},
					&cli.StringSliceFlag{Name: "cmd", Usage: "the image's default command (hermes-exec runs its own)"},
				},
				Action: func(c *cli.Context) error {
					cl, err := connect(o)
					if err != nil {
						return cli.Exit("hermes-exec: image build: "+err.Error(), 1)
					}
					defer cl.Close()
					err = cdbackend.Build(cl.ctx, cl.Client, cdbackend.BuildOptions{Dir: c.String("from"), Name: c.String("name"), Cmd: c.StringSlice("cmd")}, os.Stderr)
					if err != nil {
						return cli.Exit("hermes-exec: image build: "+err.Error(), 1)
					}
					fmt.Println(c.String("name"))
					return nil
				},
			},
			{
				Name:      "ls",
				Usage:     "list the images",
				UsageText: "hermes-exec image ls [--json]",
				Flags:     []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print a JSON array"}},
				Action: func(c *cli.Context) error {
					cl, err := connect(o)
					if err != nil {
						return cli.Exit("hermes-exec: image ls: "+err.Error(), 1)
					}
					defer cl.Close()
					list, err := cdbackend.ListImages(cl.ctx, cl.Client)
					if err != nil {
						return cli.Exit("hermes-exec: image ls: "+err.Error(), 1)
					}
					if c.Bool("json") {
						if list == nil {
							list = []cdbackend.ImageInfo{}
						}
						return json.NewEncoder(os.Stdout).Encode(list)
					}
					w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
					fmt.Fprintln(w, "NAME\tSIZE\tUNPACKED\tCREATED\tDIGEST")
					for _, in := range list {
						fmt.Fprintf(w, "%s\t%s\t%v\t%s\t%s\n", clean(in.Name), units.HumanSize(float64(in.Size)), in.Unpacked, in.Created.Format(time.RFC3339), shortDigest(in.Digest))
					}
					return w.Flush()
				},
			},
			{
				Name:      "rm",
				Usage:     "remove images",
				UsageText: "hermes-exec image rm NAME...",
				Action: func(c *cli.Context) error {
					if c.NArg() == 0 {
						return cli.Exit("hermes-exec: image rm: which image? (see hermes-exec image ls)", 64)
					}
					cl, err := connect(o)
					if err != nil {
						return cli.Exit("hermes-exec: image rm: "+err.Error(), 1)
					}
					defer cl.Close()
					if err := cdbackend.RemoveImages(cl.ctx, cl.Client, c.Args().Slice()...); err != nil {
						return cli.Exit("hermes-exec: image rm: "+err.Error(), 1)
					}
					return nil
				},
			},
			{
				Name:      "pull",
				Usage:     "pull an image from a registry (when one is reachable)",
				UsageText: "hermes-exec image pull REF",
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return cli.Exit("hermes-exec: image pull: give one reference", 64)
					}
					cl, err := connect(o)
					if err != nil {
						return cli.Exit("hermes-exec: image pull: "+err.Error(), 1)
					}
					defer cl.Close()
					if err := cdbackend.Pull(cl.ctx, cl.Client, c.Args().First(), os.Stderr); err != nil {
						return cli.Exit("hermes-exec: image pull: "+err.Error(), 1)
					}
					return nil
				},
			},
		},
	}
}

// sandboxCommand is the containerd half of `hermes-exec sandbox ls|rm|gc`;
// hermes-exec runs it beside the embedded sandbox's helper and merges.
func sandboxCommand(o containerdexec.Options) *cli.Command {
	return &cli.Command{
		Name:  "sandbox",
		Usage: "list, remove or collect the containerd backend's containers",
		Subcommands: []*cli.Command{
			{
				Name:  "ls",
				Flags: []cli.Flag{&cli.BoolFlag{Name: "json"}},
				Action: func(c *cli.Context) error {
					cl, err := connect(o)
					if err != nil {
						return cli.Exit("hermes-exec: sandbox ls: containerd: "+err.Error(), 1)
					}
					defer cl.Close()
					list, err := cdbackend.List(cl.ctx, cl.Client, cl.o)
					if err != nil {
						return cli.Exit("hermes-exec: sandbox ls: "+err.Error(), 1)
					}
					if list == nil {
						list = []cdbackend.Info{}
					}
					if c.Bool("json") {
						return json.NewEncoder(os.Stdout).Encode(list)
					}
					w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
					for _, in := range list {
						fmt.Fprintln(w, execproto.ListRow(in.ID, in.Kind+"/containerd", in.Session, in.Status, in.Pid, in.LastUsed, in.InUse, in.Workspace))
					}
					return w.Flush()
				},
			},
			{
				Name:  "rm",
				Flags: []cli.Flag{&cli.BoolFlag{Name: "all"}},
				Action: func(c *cli.Context) error {
					cl, err := connect(o)
					if err != nil {
						return cli.Exit("hermes-exec: sandbox rm: containerd: "+err.Error(), 1)
					}
					defer cl.Close()
					names := c.Args().Slice()
					if c.Bool("all") {
						list, err := cdbackend.List(cl.ctx, cl.Client, cl.o)
						if err != nil {
							return cli.Exit("hermes-exec: sandbox rm: "+err.Error(), 1)
						}
						names = nil
						for _, in := range list {
							names = append(names, in.ID)
						}
					}
					unmatched, err := cdbackend.Remove(cl.ctx, cl.Client, cl.o, names...)
					// The names it did not know, for the sandbox's helper.
					for _, n := range unmatched {
						fmt.Println(n)
					}
					if err != nil {
						return cli.Exit("hermes-exec: sandbox rm: "+err.Error(), 1)
					}
					return nil
				},
			},
			{
				Name: "gc",
				Action: func(c *cli.Context) error {
					cl, err := connect(o)
					if err != nil {
						return cli.Exit("hermes-exec: sandbox gc: containerd: "+err.Error(), 1)
					}
					defer cl.Close()
					removed, err := cdbackend.GC(cl.ctx, cl.Client, cl.o)
					for _, id := range removed {
						fmt.Println(id)
					}
					if err != nil {
						return cli.Exit("hermes-exec: sandbox gc: "+err.Error(), 1)
					}
					return nil
				},
			},
		},
	}
}

func shortDigest(d string) string {
	if i := strings.IndexByte(d, ':'); i >= 0 && len(d) > i+13 {
		return d[:i+13]
	}
	return d
}

// clean keeps free text (session ids, image names) from breaking a table.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
