package cli

import (
	"github.com/spf13/cobra"

	"dmsdns.org/dms/admin"
)

func newCmdRecord(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "record",
		Short: "Add or delete single records (each command is one commit)",
	}
	cmd.AddCommand(&cobra.Command{
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
