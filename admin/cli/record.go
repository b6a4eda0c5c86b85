package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"dmsdns.org/dms/admin"
)

func newCmdRecord(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "record",
		Short: "Add or delete single records (each command is one commit)",
	}
	cmd.AddCommand(newCmdRecordFind(f), &cobra.Command{
		Use:   "add ZONE 'RR'...",
		Short: "Add records to a zone",
		Long: `Add records, given as zone file lines relative to the zone (owner "@" is the
apex; a name without a trailing dot is relative). A record without a TTL gets
config zone_ttl; a record added to an existing RRset sets the RRset's TTL.
All the records are one commit.`,
		Example: `  dms record add example.org 'www 3600 IN A 192.0.2.1'
  dms record add example.org 'www AAAA 2001:db8::1' '@ MX 10 mail.example.org.'`,
		Args: minArgs(2, "a zone and one or more records"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.commitCmd(cmd.Context(), "record.add", admin.RecordRequest{Zone: args[0], Records: args[1:]})
		},
	}, &cobra.Command{
		Use:   "delete ZONE 'RR'...",
		Short: "Delete records (or whole RRsets) from a zone",
		Long: `Delete records, given as zone file lines relative to the zone. A line with
only a name and a type ('www A') deletes that whole RRset. All the deletions
are one commit; a record that does not exist is an error and nothing is
deleted.`,
		Example: `  dms record delete example.org 'www A 192.0.2.1'
  dms record delete example.org 'www AAAA'`,
		Args: minArgs(2, "a zone and one or more records"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.commitCmd(cmd.Context(), "record.delete", admin.RecordRequest{Zone: args[0], Records: args[1:]})
		},
	})
	return cmd
}

func newCmdRecordFind(f *Factory) *cobra.Command {
	var req admin.RecordFindRequest
	cmd := &cobra.Command{
		Use:   "find NAME [TYPE [DATA]]",
		Short: "Find records across zones by name or pattern, type and data (zone_tool's rr_query_db)",
		Long: `Find records by owner name across the zones (zone_tool's rr_query_db): an
absolute name looks in the zone holding it; a shell pattern (www.*,
*.example.org, *) in every zone. TYPE limits the type, DATA keeps records
whose data contains it (any case); --zone looks in one zone. At most 10000
records.`,
		Example: "  dms record find www.example.org\n  dms record find 'mail.*' MX\n  dms record find '*' A 192.0.2.",
		Args:    rangeArgs(1, 3, "a name or pattern, then perhaps a type and data"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Name = args[0]
			if len(args) > 1 {
				req.Type = args[1]
			}
			if len(args) > 2 {
				req.Data = args[2]
			}
			return run(cmd.Context(), f, false, "record.find", req, func(w io.Writer, res *[]admin.FoundRecord) {
				for _, r := range *res {
					zone := r.Zone
					if r.View != "" {
						zone += " (view " + r.View + ")"
					}
					fmt.Fprintf(w, "%s\t%s\n", zone, r.Record)
				}
			})
		},
	}
	cmd.Flags().StringVar(&req.Zone, "zone", "", "look in this zone only")
	return cmd
}
