package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"dmsdns.org/dms/admin"
	"dmsdns.org/dms/zonedb"
)

// dms events and dms event show.

func newCmdEvents(f *Factory) *cobra.Command {
	var req admin.EventListRequest
	cmd := &cobra.Command{
		Use:   "events",
		Short: "List the event log: commits, auto-PTR results, NOTIFY failures, DNSSEC key changes",
		Long: `The event log keeps what happened to zones and servers, newest first. Events
older than the config key event_max_age (days) go at dms vacuum.`,
		Example: "  dms events\n  dms events --zone example.org -n 10\n  dms events --failed",
		Args:    exactArgs(0, "no arguments (use --zone)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd.Context(), f, false, "event.list", req, func(w io.Writer, res *[]zonedb.LogEvent) {
				tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tTIME\tKIND\tZONE\tRESULT\tMESSAGE")
				for _, e := range *res {
					result := "ok"
					if e.Failed {
						result = "FAILED"
					}
					where := e.Zone
					if e.View != "" {
						where += " (view " + e.View + ")"
					}
					if e.SG != "" {
						where += "sg " + e.SG
					}
					if e.Server != "" {
						where += " @" + e.Server
					}
					where = strings.TrimSpace(where)
					msg := e.Message
					if len(e.Details) > 0 {
						msg += fmt.Sprintf(" (%d more lines: dms event show %d)", len(e.Details), e.ID)
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", e.ID, fmtTime(e.Time), e.Kind, orNone(where), result, msg)
				}
				tw.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&req.Zone, "zone", "", "only events of this zone (a name, network or address)")
	cmd.Flags().BoolVar(&req.Failed, "failed", false, "only failures")
	cmd.Flags().IntVarP(&req.Limit, "number", "n", 50, "at most this many (0: all)")
	return cmd
}

func newCmdEvent(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "event",
		Short: "Show one event of the event log",
	}
	cmd.AddCommand(&cobra.Command{
		Use: "show ID", Short: "Show one event whole", Example: "  dms event show 42",
		Args: exactArgs(1, "an event id (see dms events)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil {
				return usageError{fmt.Errorf("%q is not an event id (a number from dms events)", args[0])}
			}
			return run(cmd.Context(), f, false, "event.show", admin.EventShowRequest{ID: id}, func(w io.Writer, e *zonedb.LogEvent) {
				tw := tabwriter.NewWriter(w, 0, 8, 1, ' ', 0)
				row := func(k string, v any) { fmt.Fprintf(tw, "%s:\t%v\n", k, v) }
				row("id", e.ID)
				row("time", fmtTime(e.Time))
				row("kind", e.Kind)
				row("zone", orNone(e.Zone))
				if e.View != "" {
					row("view", e.View)
				}
				if e.SG != "" {
					row("sg", e.SG)
				}
				if e.Server != "" {
					row("server", e.Server)
				}
				row("by", orNone(e.By))
				row("failed", e.Failed)
				row("message", e.Message)
				tw.Flush()
				for _, d := range e.Details {
					fmt.Fprintf(w, "  %s\n", d)
				}
			})
		},
	})
	return cmd
}
