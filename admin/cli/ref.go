package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"dmsdns.org/dms/admin"
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
				return run(cmd.Context(), f, true, op, admin.RefRequest{Name: args[0]}, func(w io.Writer, res *admin.RefInfo) {
					fmt.Fprintf(w, "%s reference %s\n", verb, res.Name)
				})
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
				return run(cmd.Context(), f, true, "ref.rename", admin.RefRequest{Name: args[0], NewName: args[1]}, func(w io.Writer, res *admin.RefInfo) {
					fmt.Fprintf(w, "renamed reference %s to %s\n", args[0], res.Name)
				})
			},
		},
		&cobra.Command{
			Use: "ls [PATTERN...]", Aliases: []string{"list"}, Short: "List references and how many zones use each",
			Example: "  dms ref ls\n  dms ref ls '*@ISP-NET'",
			RunE: func(cmd *cobra.Command, args []string) error {
				return run(cmd.Context(), f, false, "ref.list", admin.RefListRequest{Patterns: args}, func(w io.Writer, res *[]admin.RefInfo) { printRefs(w, *res) })
			},
		},
	)
	return cmd
}
