package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"dmsdns.org/dms/admin"
)

// dms import: move in from another master.

func newCmdImport(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Move in from another master (BIND's named.conf)",
	}
	var o admin.BindImportOptions
	var dry bool
	bind := &cobra.Command{
		Use:   "bind NAMED.CONF",
		Short: "Import a BIND master: its primary zones, TSIG keys, secondaries and DNSSEC keys",
		Long: `Read named.conf (with its include files) and bring into dms, in one commit:
every primary zone from its file (relative to options' directory), every TSIG
key, the secondaries found in also-notify and allow-transfer (grouped into
server groups by identical lists, named after their address), the zones'
server groups, and for zones BIND signs (dnssec-policy, auto-dnssec) their
keys from key-directory: dms signs them with BIND's keys, so the DS at the
parent stays. allow-transfer prefixes go to xfr_allow.

Secondary, forward and hint zones, views and options without a dms
equivalent are passed over and listed with the reason. --dry-run prints the
plan and checks it whole (every zone file problem with file and line)
without writing. The import is all or nothing.`,
		Example: `  dms import bind /etc/bind/named.conf --dry-run
  dms import bind /etc/bind/named.conf --master-address 192.0.2.53`,
		Args: exactArgs(1, "the named.conf file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			plan, err := admin.PlanBindImport(args[0], o)
			if err != nil {
				return &admin.Error{Code: admin.CodeBadInput, Message: err.Error()}
			}
			plan.DryRun = dry
			var res admin.BindImportResult
			if err := f.call(cmd.Context(), true, "import.bind", plan, &res); err != nil {
				return err
			}
			if f.json() {
				return f.printJSON(struct {
					Plan   *admin.BindImportRequest `json:"plan"`
					Result admin.BindImportResult   `json:"result"`
				}{stripTexts(plan), res})
			}
			printBindPlan(f.Out, plan)
			printBindResult(f.Out, &res)
			return nil
		},
	}
	bind.Flags().BoolVar(&dry, "dry-run", false, "print the plan and check it, write nothing")
	bind.Flags().StringVar(&o.ServerType, "server-type", "bind9", "the secondaries' software: bind9, knot or nsd")
	bind.Flags().StringVar(&o.SGName, "sg-name", "imported", "name of the server groups made (NAME, NAME-2, ...)")
	bind.Flags().StringArrayVar(&o.MasterAddress, "master-address", nil, "where the secondaries will reach dms (repeat)")
	cmd.AddCommand(bind)
	return cmd
}

// stripTexts leaves the file contents (zone texts, private keys, secrets)
// out of the printed plan.
func stripTexts(p *admin.BindImportRequest) *admin.BindImportRequest {
	q := *p
	q.Zones = append([]admin.BindZone{}, p.Zones...)
	for i := range q.Zones {
		q.Zones[i].Text = ""
		keys := append([]admin.BindKeyFile{}, q.Zones[i].Keys...)
		for j := range keys {
			keys[j].Key, keys[j].Private = "", ""
		}
		q.Zones[i].Keys = keys
	}
	q.Keys = append([]admin.BindTSIG{}, p.Keys...)
	for i := range q.Keys {
		q.Keys[i].Secret = ""
	}
	return &q
}

func printBindPlan(w io.Writer, p *admin.BindImportRequest) {
	fmt.Fprintf(w, "named.conf: %s (%d file(s) read)\n", p.Conf, len(p.Files))
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, v := range p.Views {
		fmt.Fprintf(w, "view %s: match %s\n", v.Name, matchText(v.Match))
	}
	fmt.Fprintln(tw, "ZONE\tSG\tDNSSEC\tFILE")
	for _, z := range p.Zones {
		sec := "-"
		if z.Signed {
			kind := "NSEC"
			if z.NSEC3 {
				kind = "NSEC3"
			}
			sec = fmt.Sprintf("%s, %d BIND key(s)", kind, len(z.Keys))
		}
		name := z.Name
		if z.View != "" {
			name += " (view " + z.View + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, orDash(z.SG), sec, z.File)
	}
	tw.Flush()
	for _, k := range p.Keys {
		fmt.Fprintf(w, "tsig key %s (%s)\n", k.Name, k.Algorithm)
	}
	for _, sg := range p.SGs {
		var srv []string
		for _, s := range sg.Servers {
			x := s.Name + " " + s.Address
			if s.Key != "" {
				x += " key " + s.Key
			}
			srv = append(srv, x)
		}
		fmt.Fprintf(w, "server group %s: %s\n", sg.Name, strings.Join(srv, "; "))
	}
	if len(p.XfrAllow) > 0 {
		fmt.Fprintf(w, "xfr_allow += %s\n", strings.Join(p.XfrAllow, " "))
	}
	for _, s := range p.Skipped {
		fmt.Fprintf(w, "skipped: %s (%s): %s\n", s.What, s.Where, s.Why)
	}
}

func printBindResult(w io.Writer, r *admin.BindImportResult) {
	verb := "imported"
	if r.DryRun {
		verb = "dry run, nothing written: would import"
	}
	views := ""
	if r.Views > 0 {
		views = fmt.Sprintf("%d view(s), ", r.Views)
	}
	fmt.Fprintf(w, "%s %s%d zone(s) (%d signed with BIND's keys), %d TSIG key(s), %d server group(s), %d server(s)\n",
		verb, views, r.Zones, r.Signed, r.Keys, r.SGs, r.Servers)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}
