package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"dmsdns.org/dms/admin"
)

// dms sectag and dms zone sectag.

func newCmdSectag(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sectag",
		Short: "Manage security tags (what control-panel logins may see and change)",
		Long: `A sectag (security tag) is attached to zones; a control-panel login with
that sectag sees and changes only those zones, and auto-PTR decides what a
commit may do to reverse zones by it. The Admin sectag (the CLI's) is built
in and sees everything. A zone gets its creator's sectag.`,
	}
	one := func(use, short, example, op, verb string) *cobra.Command {
		return &cobra.Command{
			Use: use + " SECTAG", Short: short, Example: example,
			Args: exactArgs(1, "one sectag"),
			RunE: func(cmd *cobra.Command, args []string) error {
				return run(cmd.Context(), f, true, op, admin.SectagRequest{Name: args[0]}, func(w io.Writer, res *admin.SectagInfo) {
					fmt.Fprintf(w, "%s sectag %s\n", verb, res.Name)
				})
			},
		}
	}
	cmd.AddCommand(
		one("create", "Create a sectag", "  dms sectag create RESELLER-A", "sectag.create", "created"),
		one("delete", "Delete a sectag no zone carries", "  dms sectag delete RESELLER-A", "sectag.delete", "deleted"),
		&cobra.Command{
			Use: "ls", Aliases: []string{"list"}, Short: "List sectags and how many zones carry each",
			Example: "  dms sectag ls",
			Args:    exactArgs(0, "no arguments"),
			RunE: func(cmd *cobra.Command, args []string) error {
				return run(cmd.Context(), f, false, "sectag.list", struct{}{}, func(w io.Writer, res *[]admin.SectagInfo) {
					tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
					fmt.Fprintln(tw, "SECTAG\tZONES")
					for _, t := range *res {
						fmt.Fprintf(tw, "%s\t%d\n", t.Name, t.Zones)
					}
					tw.Flush()
				})
			},
		},
	)
	return cmd
}

func newCmdZoneSectag(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sectag",
		Short: "Show or change the sectags of a zone",
	}
	change := func(op, short, example string) *cobra.Command {
		what := "a zone and one or more sectags"
		if op == "replace" {
			what = "a zone and its new sectags (none clears them)"
		}
		return &cobra.Command{
			Use: op + " ZONE SECTAG...", Short: short, Example: example,
			Args: minArgs(map[bool]int{true: 1, false: 2}[op == "replace"], what),
			RunE: func(cmd *cobra.Command, args []string) error {
				return run(cmd.Context(), f, true, "zone.sectag_change", admin.ZoneSectagRequest{Name: args[0], Op: op, Sectags: args[1:]},
					func(w io.Writer, res *admin.ZoneSectags) { printZoneSectags(w, res) })
			},
		}
	}
	cmd.AddCommand(
		change("add", "Give a zone more sectags", "  dms zone sectag add example.org RESELLER-A"),
		change("delete", "Take sectags off a zone", "  dms zone sectag delete example.org RESELLER-A"),
		change("replace", "Replace the whole sectag list of a zone", "  dms zone sectag replace example.org Admin RESELLER-B"),
		&cobra.Command{
			Use: "ls ZONE", Aliases: []string{"list"}, Short: "Show the sectags of a zone",
			Example: "  dms zone sectag ls example.org\n  dms zone sectag ls 192.0.2.1",
			Args:    exactArgs(1, "one zone"),
			RunE: func(cmd *cobra.Command, args []string) error {
				return run(cmd.Context(), f, false, "zone.sectag_list", admin.ZoneSectagRequest{Name: args[0]},
					func(w io.Writer, res *admin.ZoneSectags) { printZoneSectags(w, res) })
			},
		},
	)
	return cmd
}

func printZoneSectags(w io.Writer, z *admin.ZoneSectags) {
	tags := strings.Join(z.Sectags, " ")
	if tags == "" {
		tags = "(none: Admin only)"
	}
	fmt.Fprintf(w, "%s: %s\n", z.Zone, tags)
}
