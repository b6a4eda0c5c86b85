package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"dmsdns.org/dms/admin"
)

func newCmdPending(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "pending",
		Short: "Show the work waiting: NOTIFYs not yet answered, signature renewals due, edit locks held",
		Long: `Show what dms still has to do (zone_tool's ls_pending_events): the NOTIFYs
not yet answered, with their attempts and next try (a running dms serve
holds them); the signed zones by when their signatures are renewed, the
soonest first; the edit locks held. dms events shows what was done.`,
		Example: "  dms pending\n  dms pending -o json",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd.Context(), f, false, "pending", struct{}{}, printPending)
		},
	}
}

func printPending(w io.Writer, p *admin.PendingResult) {
	switch {
	case !p.Server:
		fmt.Fprintln(w, "notify: no dms serve runs (it sends and retries NOTIFYs; zones committed meanwhile are notified when it starts)")
	case len(p.Notify) == 0 && p.Unresolved == 0:
		fmt.Fprintln(w, "notify: none pending")
	default:
		fmt.Fprintf(w, "notify: %d pending, %d zone(s) being resolved\n", len(p.Notify), p.Unresolved)
		for _, n := range p.Notify {
			fmt.Fprintf(w, "  %s serial %d to %s (%s): attempt %d, next %s\n", n.Zone, n.Serial, n.Server, n.Address, n.Attempt+1, fmtTime(n.Due))
		}
	}
	if len(p.Resign) == 0 {
		fmt.Fprintln(w, "resign: no signed zone")
	} else {
		fmt.Fprintln(w, "resign (soonest first):")
		for _, r := range p.Resign {
			due := "now"
			if !r.Due.IsZero() {
				due = fmtTime(r.Due)
			}
			fmt.Fprintf(w, "  %s: %s\n", r.Zone, due)
		}
	}
	if len(p.Locks) == 0 {
		fmt.Fprintln(w, "edit locks: none")
		return
	}
	fmt.Fprintln(w, "edit locks:")
	for _, l := range p.Locks {
		fmt.Fprintf(w, "  %s: held by %s since %s\n", l.Zone, l.LockedBy, fmtTime(l.LockedAt))
	}
}
