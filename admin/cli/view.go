package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"dmsdns.org/dms/admin"
)

// dms view: split horizon.

func newCmdView(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "view",
		Short: "Manage views (split horizon: other zone contents for other clients)",
		Long: `A view is a named, ordered set of rules on the client, as BIND's view with
match-clients: an address or prefix, key:NAME (a request signed with that
TSIG key), any or none, each negated by a leading !. The first rule that fits
a client decides (a negated one excludes it); a client is answered from the
first view, in order, that matches it, and refused when none does. The same
zone name may exist in several views with other contents, history, serials
and DNSSEC keys: name the view of a zone with --view on any command
(without it, the default view). A server group belongs to the view it is
created in (dms sg create --view V); its secondaries transfer that view's
zones and must be matched to it, by their TSIG key as BIND secondaries are.

The default view always exists: it holds the zones made without --view,
matches everyone unless its rules are set, and comes last unless its order
is set.`,
	}
	var match []string
	var matchAny bool
	var order int
	show := func(verb string) func(w io.Writer, res *admin.ViewInfo) {
		return func(w io.Writer, res *admin.ViewInfo) {
			if verb != "" {
				fmt.Fprintf(w, "%s view %s\n", verb, res.Name)
				return
			}
			printView(w, res)
		}
	}
	create := &cobra.Command{
		Use: "create VIEW", Short: "Create a view",
		Example: `  dms view create internal --match 10.0.0.0/8 --match key:int-xfr
  dms view create partners --match '!192.0.2.66' --match 192.0.2.0/24 --order 5`,
		Args: exactArgs(1, "one view name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := admin.ViewRequest{Name: args[0], Match: &match}
			if cmd.Flags().Changed("order") {
				req.Order = &order
			}
			return run(cmd.Context(), f, true, "view.create", req, show("created"))
		},
	}
	create.Flags().StringArrayVar(&match, "match", nil, "a rule, in order (repeat): ADDRESS, PREFIX, key:NAME, any, none, each perhaps after !; none given: any")
	create.Flags().IntVar(&order, "order", 0, "the view's place: views are matched by increasing order (default: after every other view but the default one)")
	set := &cobra.Command{
		Use: "set VIEW", Short: "Change a view's rules or order",
		Example: `  dms view set internal --match 10.0.0.0/8 --match 172.16.0.0/12 --match key:int-xfr
  dms view set default --match '!10.0.0.0/8' --match any
  dms view set internal --order 1`,
		Args: exactArgs(1, "one view name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := admin.ViewRequest{Name: args[0]}
			if cmd.Flags().Changed("match") || matchAny {
				if matchAny {
					match = nil
				}
				m := append([]string{}, match...)
				req.Match = &m
			}
			if cmd.Flags().Changed("order") {
				req.Order = &order
			}
			return run(cmd.Context(), f, true, "view.set", req, show(""))
		},
	}
	set.Flags().StringArrayVar(&match, "match", nil, "the new rules, in order (repeat); they replace the old ones")
	set.Flags().BoolVar(&matchAny, "match-any", false, "drop the rules: the view matches everyone")
	set.Flags().IntVar(&order, "order", 0, "the view's new place")
	one := func(use, short, example, op, verb string) *cobra.Command {
		return &cobra.Command{
			Use: use + " VIEW", Short: short, Example: example,
			Args: exactArgs(1, "one view name"),
			RunE: func(cmd *cobra.Command, args []string) error {
				return run(cmd.Context(), f, op != "view.show", op, admin.ViewRequest{Name: args[0]}, show(verb))
			},
		}
	}
	cmd.AddCommand(create, set,
		one("show", "Show a view", "  dms view show internal", "view.show", ""),
		one("delete", "Delete a view that holds no zone and no server group", "  dms view delete internal", "view.delete", "deleted"),
		&cobra.Command{
			Use: "ls", Aliases: []string{"list"}, Short: "List the views in the order clients are matched",
			Example: "  dms view ls",
			Args:    exactArgs(0, "no arguments"),
			RunE: func(cmd *cobra.Command, args []string) error {
				return run(cmd.Context(), f, false, "view.list", struct{}{}, func(w io.Writer, res *[]admin.ViewInfo) {
					tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
					fmt.Fprintln(tw, "ORDER\tVIEW\tZONES\tSGS\tMATCH")
					for _, v := range *res {
						fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", orderText(v.Order), v.Name, v.Zones, orDash(strings.Join(v.SGs, ",")), matchText(v.Match))
					}
					tw.Flush()
				})
			},
		},
	)
	return cmd
}

func printView(w io.Writer, v *admin.ViewInfo) {
	fmt.Fprintf(w, "view:    %s\n", v.Name)
	fmt.Fprintf(w, "order:   %s\n", orderText(v.Order))
	fmt.Fprintf(w, "match:   %s\n", matchText(v.Match))
	fmt.Fprintf(w, "zones:   %d\n", v.Zones)
	fmt.Fprintf(w, "sgs:     %s\n", orDash(strings.Join(v.SGs, ", ")))
	fmt.Fprintf(w, "ctime:   %s\n", fmtTime(v.CTime))
	fmt.Fprintf(w, "mtime:   %s\n", fmtTime(v.MTime))
}

func orderText(o int) string {
	if o >= 1<<30 {
		return "last"
	}
	return fmt.Sprint(o)
}

func matchText(rules []string) string {
	if len(rules) == 0 {
		return "any"
	}
	return strings.Join(rules, " ")
}
