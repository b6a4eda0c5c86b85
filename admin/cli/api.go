package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"dmsdns.org/dms/admin"
)

// dms api user: the HTTP API's logins.

func newCmdAPI(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "api",
		Short: "Manage the HTTP API's logins (control panels)",
	}
	user := &cobra.Command{
		Use:   "user",
		Short: "Add, list, change and delete API logins",
		Long: `Each login has a sectag (it sees and changes only zones carrying it; the
Admin sectag sees everything) and a role: admin (Admin sectag only),
helpdesk (may also set records' REF: and create references) or customer.
Passwords are read from standard input when it is not a terminal, else
prompted for twice; they are stored as bcrypt hashes and never logged.`,
	}
	var sectag, role string
	add := &cobra.Command{
		Use: "add NAME --sectag TAG [--role admin|helpdesk|customer]", Short: "Add a login",
		Example: "  dms api user add panel-a --sectag RESELLER-A\n  echo \"$PASSWORD\" | dms api user add helpdesk1 --sectag Admin --role helpdesk",
		Args:    exactArgs(1, "the login name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := f.readPassword()
			if err != nil {
				return err
			}
			return run(cmd.Context(), f, true, "api.user_add", admin.APIUserRequest{Name: args[0], Sectag: sectag, Role: role, Password: pw},
				func(w io.Writer, u *admin.APIUserInfo) {
					fmt.Fprintf(w, "added API login %s (sectag %s, role %s)\n", u.Name, u.Sectag, u.Role)
				})
		},
	}
	add.Flags().StringVar(&sectag, "sectag", "", "the login's sectag (required)")
	add.Flags().StringVar(&role, "role", "", "admin, helpdesk or customer (default: admin for the Admin sectag, else customer)")
	user.AddCommand(add,
		&cobra.Command{
			Use: "passwd NAME", Short: "Set a login's password", Example: "  dms api user passwd panel-a",
			Args: exactArgs(1, "the login name"),
			RunE: func(cmd *cobra.Command, args []string) error {
				pw, err := f.readPassword()
				if err != nil {
					return err
				}
				return run(cmd.Context(), f, true, "api.user_passwd", admin.APIUserRequest{Name: args[0], Password: pw},
					func(w io.Writer, u *admin.APIUserInfo) { fmt.Fprintf(w, "password of %s changed\n", u.Name) })
			},
		},
		&cobra.Command{
			Use: "ls", Aliases: []string{"list"}, Short: "List logins", Example: "  dms api user ls",
			Args: exactArgs(0, "no arguments"),
			RunE: func(cmd *cobra.Command, args []string) error {
				return run(cmd.Context(), f, false, "api.user_list", struct{}{}, func(w io.Writer, res *[]admin.APIUserInfo) {
					tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
					fmt.Fprintln(tw, "LOGIN\tSECTAG\tROLE")
					for _, u := range *res {
						fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Name, u.Sectag, u.Role)
					}
					tw.Flush()
				})
			},
		},
		&cobra.Command{
			Use: "delete NAME", Short: "Delete a login", Example: "  dms api user delete panel-a",
			Args: exactArgs(1, "the login name"),
			RunE: func(cmd *cobra.Command, args []string) error {
				return run(cmd.Context(), f, true, "api.user_delete", admin.APIUserRequest{Name: args[0]},
					func(w io.Writer, u *admin.APIUserInfo) { fmt.Fprintf(w, "deleted API login %s\n", u.Name) })
			},
		},
	)
	cmd.AddCommand(user)
	return cmd
}

// readPassword reads a password: prompted twice on a terminal, else the
// first line of standard input.
func (f *Factory) readPassword() (string, error) {
	if in, ok := f.In.(*os.File); ok && term.IsTerminal(int(in.Fd())) {
		fmt.Fprint(f.Err, "password: ")
		a, err := term.ReadPassword(int(in.Fd()))
		fmt.Fprintln(f.Err)
		if err != nil {
			return "", err
		}
		fmt.Fprint(f.Err, "again: ")
		b, err := term.ReadPassword(int(in.Fd()))
		fmt.Fprintln(f.Err)
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", usageError{errors.New("the passwords differ")}
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(f.In).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", usageError{errors.New("no password on standard input")}
	}
	return line, nil
}
