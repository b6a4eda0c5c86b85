package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"dms/admin"
)

func newCmdRef(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ref",
		Short: "Manage references (the customer ids zones belong to)",
		Long: `References are customer or organisation ids (e.g. 24866@SOMEISP-NET). They
match case-insensitively and keep their case for display.`,
	}
	one := func(use, short, example, op, verb string) *cobra.Command {
		return &cobra.Command{
			Use: use + " REF", Short: short, Example: example,
			Args: exactArgs(1, "one reference"),
			RunE: func(cmd *cobra.Command, args []string) error {
				var res admin.RefInfo
				if err := f.call(cmd.Context(), true, op, admin.RefRequest{Name: args[0]}, &res); err != nil {
					return err
				}
				if f.json() {
					return f.printJSON(res)
				}
				fmt.Fprintf(f.Out, "%s reference %s\n", verb, res.Name)
				return nil
			},
		}
	}
	cmd.AddCommand(
		one("create", "Create a reference", "  dms ref create cust42@ISP-NET", "ref.create", "created"),
		one("delete", "Delete a reference no zone uses", "  dms ref delete cust42@ISP-NET", "ref.delete", "deleted"),
		&cobra.Command{
			Use: "rename REF NEWNAME", Short: "Rename a reference; its zones follow",
			Example: "  dms ref rename cust42@ISP-NET CUST42@ISP-NET",
			Args:    exactArgs(2, "a reference and its new name"),
			RunE: func(cmd *cobra.Command, args []string) error {
				var res admin.RefInfo
				if err := f.call(cmd.Context(), true, "ref.rename", admin.RefRequest{Name: args[0], NewName: args[1]}, &res); err != nil {
					return err
				}
				if f.json() {
					return f.printJSON(res)
				}
				fmt.Fprintf(f.Out, "renamed reference %s to %s\n", args[0], res.Name)
				return nil
			},
		},
		&cobra.Command{
			Use: "ls [PATTERN...]", Aliases: []string{"list"}, Short: "List references and how many zones use each",
			Example: "  dms ref ls\n  dms ref ls '*@ISP-NET'",
			RunE: func(cmd *cobra.Command, args []string) error {
				var res []admin.RefInfo
				if err := f.call(cmd.Context(), false, "ref.list", admin.RefListRequest{Patterns: args}, &res); err != nil {
					return err
				}
				if f.json() {
					return f.printJSON(res)
				}
				printRefs(f.Out, res)
				return nil
			},
		},
	)
	return cmd
}
