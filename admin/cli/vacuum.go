package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"dmsdns.org/dms/admin"
	"dmsdns.org/dms/zonedb"
)

func newCmdVacuum(f *Factory) *cobra.Command {
	var dry bool
	cmd := &cobra.Command{
		Use:   "vacuum [zis|zones|events|all]",
		Short: "Age old zone instances, deleted zones and old events",
		Long: `Vacuum ages the store's history with the config's ages:
  zis     zone instances older than zi_max_age days, keeping the newest
          zi_max_num of each zone and its published one;
  zones   deleted zones destroyed zone_del_age days after deletion (0: never),
          their history pared to the last published instance after
          zone_del_pare_age days (0: never);
  events  events older than event_max_age days.
A secondary asking for a serial whose history went gets the whole zone.
dms serve runs vacuum all once a day.`,
		Example:   "  dms vacuum --dry-run\n  dms vacuum zis",
		ValidArgs: []string{"zis", "zones", "events", "all"},
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 || len(args) == 1 && !slices.Contains(cmd.ValidArgs, args[0]) {
				return usageError{fmt.Errorf("dms vacuum takes one of zis, zones, events or all (got %s)", strings.Join(args, " "))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			req := admin.VacuumRequest{DryRun: dry}
			if len(args) == 1 {
				req.What = args[0]
			}
			return run(cmd.Context(), f, !dry, "vacuum", req, func(w io.Writer, res *zonedb.VacuumResult) {
				verb := "removed"
				if dry {
					verb = "would remove"
				}
				fmt.Fprintf(w, "%s %d zone instance(s), %d instance(s) of deleted zones, %d event(s); %d deleted zone(s) destroyed\n",
					verb, res.ZIs, res.PareZIs, res.Events, len(res.Destroyed))
				for _, z := range res.Destroyed {
					fmt.Fprintf(w, "  %s\n", z)
				}
			})
		},
	}
	cmd.Flags().BoolVar(&dry, "dry-run", false, "only count what would go")
	return cmd
}
