package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"dmsdns.org/dms/admin"
)

func newCmdConfig(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show and set the central configuration",
	}
	var keys []string
	for _, k := range admin.ConfigKeys() {
		keys = append(keys, fmt.Sprintf("  %-22s %s (default %q)", k.Name, k.Help, k.Default))
	}
	cmd.AddCommand(&cobra.Command{
		Use:     "show",
		Short:   "Show every configuration key and its value",
		Example: "  dms config show\n  dms config show -o json",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd.Context(), f, false, "config.show", struct{}{}, func(w io.Writer, res *[]admin.ConfigEntry) { printConfig(w, *res) })
		},
	}, &cobra.Command{
		Use:     "set KEY VALUE",
		Short:   "Set a configuration key (an empty VALUE restores the default)",
		Long:    "Set a configuration key. The keys:\n" + strings.Join(keys, "\n"),
		Example: "  dms config set soa_mname ns1.example.net.\n  dms config set apex_ns 'ns1.example.net. ns2.example.net.'\n  dms config set inc_updates true",
		Args:    exactArgs(2, "a key and a value"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd.Context(), f, true, "config.set", admin.ConfigSetRequest{Key: args[0], Value: args[1]}, func(w io.Writer, res *admin.ConfigEntry) {
				fmt.Fprintf(w, "%s: %s\n", res.Name, res.Value)
			})
		},
	})
	return cmd
}
