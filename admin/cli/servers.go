package cli

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"dmsdns.org/dms/admin"
)

// dms tsig, dms sg, dms server, dms zone set-sg and dms zone alt-sg.

func newCmdTSIG(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tsig",
		Short: "Manage TSIG keys (RFC 8945) that secondaries sign transfers and NOTIFY with",
		Long: `TSIG keys are kept in the store. Give a server a key (dms server create
--tsig KEY) and dms requires its transfers to be signed with it and signs
the NOTIFY it sends there. dms tsig ls never prints secrets; show does, and
create and import do unless given files (--key-file, --secret-file), with
the key in BIND, Knot and NSD syntax. Secrets never go on the command line.`,
	}
	create := newCmdTSIGCreate(f)
	imp := newCmdTSIGImport(f)
	cmd.AddCommand(create, imp,
		&cobra.Command{
			Use: "ls", Aliases: []string{"list"}, Short: "List keys (without secrets) and the servers using each", Example: "  dms tsig ls",
			Args: exactArgs(0, "no arguments"),
			RunE: func(cmd *cobra.Command, args []string) error {
				return run(cmd.Context(), f, false, "tsig.list", struct{}{}, func(w io.Writer, res *[]admin.TSIGInfo) {
					tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
					fmt.Fprintln(tw, "NAME\tALGORITHM\tSERVERS\tCREATED")
					for _, k := range *res {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.Name, k.Algorithm, orDash(strings.Join(k.Servers, ",")), fmtTime(k.CTime))
					}
					tw.Flush()
				})
			},
		},
		&cobra.Command{
			Use: "show NAME", Short: "Show a key with its secret, in BIND, Knot and NSD syntax", Example: "  dms tsig show xfr-ns2",
			Args: exactArgs(1, "the key name"),
			RunE: func(cmd *cobra.Command, args []string) error {
				return run(cmd.Context(), f, false, "tsig.show", admin.TSIGRequest{Name: args[0]}, printTSIG)
			},
		},
		&cobra.Command{
			Use:   "update-policy NAME [RULE...]",
			Short: "Set what dynamic updates (RFC 2136) signed with a key may change",
			Long: `Each RULE grants updates like a BIND update-policy grant:
  "ZONE NAME [TYPE,...] [sectag=TAG]"
ZONE and NAME are shell patterns ("*" matches across labels); NAME may be
relative to the zone ("@" is its apex). Without types, any type but SOA, NS
and DNSSEC's. The sectag decides what the update's auto-PTR may do
(default Admin). The rules replace the key's policy; none: the key may
update nothing. Zones take updates only with inc_updates on.`,
			Example: `  dms tsig update-policy acme 'example.org _acme-challenge.* TXT'
  dms tsig update-policy dhcp '*.dyn.example.net * A,AAAA,TXT sectag=CUST-A'
  dms tsig update-policy acme`,
			Args: minArgs(1, "the key name and its rules"),
			RunE: func(cmd *cobra.Command, args []string) error {
				return run(cmd.Context(), f, true, "tsig.policy", admin.TSIGPolicyRequest{Name: args[0], Rules: args[1:]}, func(w io.Writer, res *admin.TSIGInfo) {
					if len(res.Update) == 0 {
						fmt.Fprintf(w, "key %s may update nothing\n", res.Name)
					}
					for _, r := range res.Update {
						fmt.Fprintf(w, "key %s may update: %s\n", res.Name, r)
					}
				})
			},
		},
		&cobra.Command{
			Use: "delete NAME", Short: "Delete a key no server uses", Example: "  dms tsig delete xfr-ns2",
			Args: exactArgs(1, "the key name"),
			RunE: func(cmd *cobra.Command, args []string) error {
				return run(cmd.Context(), f, true, "tsig.delete", admin.TSIGRequest{Name: args[0]}, func(w io.Writer, res *admin.TSIGInfo) {
					fmt.Fprintf(w, "deleted TSIG key %s\n", res.Name)
				})
			},
		},
	)
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func printTSIG(w io.Writer, k *admin.TSIGInfo) {
	fmt.Fprintf(w, "key:       %s\nalgorithm: %s\nsecret:    %s\n", k.Name, k.Algorithm, k.Secret)
	if len(k.Servers) > 0 {
		fmt.Fprintf(w, "servers:   %s\n", strings.Join(k.Servers, ", "))
	}
	for _, r := range k.Update {
		fmt.Fprintf(w, "update:    %s\n", r)
	}
	fmt.Fprintf(w, "\n# BIND (named.conf)\n%s\n# Knot (knot.conf)\n%s\n# NSD (nsd.conf)\n%s", k.BIND, k.Knot, k.NSD)
}

// sgFlags are the settable fields of a server group.
type sgFlags struct {
	apexNS, master, allow []string
	mname, catalog        string
}

func (o *sgFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&o.apexNS, "apex-ns", nil, "apex NS name of the SG's zones (repeatable, or space/comma separated)")
	cmd.Flags().StringVar(&o.mname, "soa-mname", "", "SOA MNAME of new zones of the SG")
	cmd.Flags().StringArrayVar(&o.master, "master-address", nil, "address[:port] at which the SG's secondaries reach dms (repeatable)")
	cmd.Flags().StringArrayVar(&o.allow, "allow-query", nil, "for a private SG: the prefixes its zones are answered to, by dms and its secondaries (repeatable)")
	cmd.Flags().StringVar(&o.catalog, "catalog-zone", "", "name of the SG's catalog zone (default SG.catalog.invalid.)")
}

func (o *sgFlags) request(cmd *cobra.Command, name string) admin.SGRequest {
	req := admin.SGRequest{Name: name}
	if cmd.Flags().Changed("apex-ns") {
		req.ApexNS = &o.apexNS
	}
	if cmd.Flags().Changed("soa-mname") {
		req.SOAMname = &o.mname
	}
	if cmd.Flags().Changed("master-address") {
		req.MasterAddress = &o.master
	}
	if cmd.Flags().Changed("allow-query") {
		req.AllowQuery = &o.allow
	}
	if cmd.Flags().Changed("catalog-zone") {
		req.CatalogZone = &o.catalog
	}
	return req
}

func newCmdSG(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sg",
		Short: "Manage server groups (the sets of secondaries zones are published on)",
		Long: `A server group (SG) is a set of secondary servers that carry the same zones.
Each zone has a primary SG and may have an alternate one; the servers of both
may transfer it and are notified when it changes. An SG gives its zones their
apex NS (when use_apex_ns is on) and has a catalog zone (RFC 9432) that lists
them, so secondaries that follow it pick up new zones by themselves.`,
	}
	var co sgFlags
	create := &cobra.Command{
		Use: "create SG", Short: "Create a server group and its catalog zone",
		Example: "  dms sg create external --apex-ns ns1.example.net --apex-ns ns2.example.net --master-address 192.0.2.53",
		Args:    exactArgs(1, "the server group name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd.Context(), f, true, "sg.create", co.request(cmd, args[0]), printSG)
		},
	}
	co.add(create)
	var so sgFlags
	set := &cobra.Command{
		Use: "set SG", Short: "Change a server group (new apex NS are written into its zones)",
		Example: "  dms sg set external --apex-ns 'ns1.example.net ns3.example.net'\n  dms sg set external --catalog-zone catalog.example.net",
		Args:    exactArgs(1, "the server group name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := so.request(cmd, args[0])
			if req == (admin.SGRequest{Name: args[0]}) {
				return usageError{errors.New("sg set: give at least one setting to change (see --help)")}
			}
			return run(cmd.Context(), f, true, "sg.set", req, printSG)
		},
	}
	so.add(set)
	cmd.AddCommand(create, set,
		&cobra.Command{
			Use: "ls", Aliases: []string{"list"}, Short: "List server groups", Example: "  dms sg ls",
			Args: exactArgs(0, "no arguments"),
			RunE: func(cmd *cobra.Command, args []string) error {
				return run(cmd.Context(), f, false, "sg.list", struct{}{}, func(w io.Writer, res *[]admin.SGInfo) {
					tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
					fmt.Fprintln(tw, "NAME\tZONES\tALT_ZONES\tSERVERS\tCATALOG")
					for _, s := range *res {
						fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", s.Name, s.Zones, s.AltZones, orDash(strings.Join(s.Servers, ",")), s.CatalogZone)
					}
					tw.Flush()
				})
			},
		},
		&cobra.Command{
			Use: "show SG", Short: "Show a server group", Example: "  dms sg show external",
			Args: exactArgs(1, "the server group name"),
			RunE: func(cmd *cobra.Command, args []string) error {
				return run(cmd.Context(), f, false, "sg.show", admin.SGRequest{Name: args[0]}, printSG)
			},
		},
		&cobra.Command{
			Use: "rename SG NEW-NAME", Short: "Rename a server group: its zones, servers and catalog zone follow", Example: "  dms sg rename external ext-2026",
			Args: exactArgs(2, "the server group and its new name"),
			RunE: func(cmd *cobra.Command, args []string) error {
				return run(cmd.Context(), f, true, "sg.rename", admin.SGRenameRequest{Name: args[0], NewName: args[1]}, printSG)
			},
		},
		&cobra.Command{
			Use: "delete SG", Short: "Delete a server group without zones or servers (and its catalog zone)", Example: "  dms sg delete old-external",
			Args: exactArgs(1, "the server group name"),
			RunE: func(cmd *cobra.Command, args []string) error {
				return run(cmd.Context(), f, true, "sg.delete", admin.SGRequest{Name: args[0]}, func(w io.Writer, res *admin.SGInfo) {
					fmt.Fprintf(w, "deleted server group %s\n", res.Name)
				})
			},
		},
	)
	return cmd
}

func printSG(w io.Writer, s *admin.SGInfo) {
	tw := tabwriter.NewWriter(w, 0, 8, 1, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s:\t%v\n", k, v) }
	row("sg_name", s.Name)
	row("apex_ns", orNone(strings.Join(s.ApexNS, " ")))
	row("soa_mname", orNone(s.SOAMname))
	row("master_address", orNone(strings.Join(s.MasterAddress, " ")))
	row("allow_query", orNone(strings.Join(s.AllowQuery, " ")))
	row("catalog_zone", s.CatalogZone)
	row("zone_count", s.Zones)
	row("alt_zone_count", s.AltZones)
	row("servers", orNone(strings.Join(s.Servers, " ")))
	row("ctime", fmtTime(s.CTime))
	row("mtime", fmtTime(s.MTime))
	tw.Flush()
	printCommits(w, &admin.CommitResult{Commits: s.Commits}, false)
}

func newCmdServer(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Manage the secondary servers dms feeds",
		Long: `A server is a secondary (BIND, Knot or NSD) in a server group. Its address
(and TSIG key, when it has one) lets it transfer the SG's zones; dms sends it
NOTIFY after every change and polls its serials (dms status). dms server
config NAME prints the configuration it needs.`,
	}
	var sg, typ, key string
	create := &cobra.Command{
		Use: "create NAME ADDRESS", Short: "Add a secondary server to a server group",
		Long: `ADDRESS is IPv4 or IPv6 with an optional port (192.0.2.1, 192.0.2.1:5353,
2001:db8::1, [2001:db8::1]:5353; default 53): NOTIFY and status polling go
there, and transfers are allowed from that address.`,
		Example: "  dms server create ns2 192.0.2.2 --sg external --type bind9 --tsig xfr-ns2",
		Args:    exactArgs(2, "the server name and address"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := admin.ServerRequest{Name: args[0], Address: args[1], SG: sg, Type: typ}
			if cmd.Flags().Changed("tsig") {
				req.TSIGKey = &key
			}
			return run(cmd.Context(), f, true, "server.create", req, printServer)
		},
	}
	create.Flags().StringVar(&sg, "sg", "", "server group (required)")
	create.Flags().StringVar(&typ, "type", "", "bind9, knot or nsd (default: config default_stype)")
	create.Flags().StringVar(&key, "tsig", "", "TSIG key the server signs with (dms tsig create)")
	var lsSG string
	ls := &cobra.Command{
		Use: "ls", Aliases: []string{"list"}, Short: "List servers", Example: "  dms server ls\n  dms server ls --sg external",
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd.Context(), f, false, "server.list", admin.ServerRequest{SG: lsSG}, func(w io.Writer, res *[]admin.ServerInfo) {
				tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tADDRESS\tSG\tTYPE\tTSIG\tENABLED")
				for _, s := range *res {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\n", s.Name, s.Address, s.SG, s.Type, orDash(s.TSIGKey), !s.Disabled)
				}
				tw.Flush()
			})
		},
	}
	ls.Flags().StringVar(&lsSG, "sg", "", "only this server group's servers")
	var setType, setKey string
	set := &cobra.Command{
		Use: "set NAME", Short: "Change a server's type or TSIG key (--tsig '' removes the key)",
		Example: "  dms server set ns2 --tsig xfr-ns2-new\n  dms server set ns2 --type knot",
		Args:    exactArgs(1, "the server name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := admin.ServerRequest{Name: args[0], Type: setType}
			if cmd.Flags().Changed("tsig") {
				req.TSIGKey = &setKey
			}
			return run(cmd.Context(), f, true, "server.set", req, printServer)
		},
	}
	set.Flags().StringVar(&setType, "type", "", "bind9, knot or nsd")
	set.Flags().StringVar(&setKey, "tsig", "", "TSIG key name ('' for none)")
	one := func(use, short, op string, nargs int, what string, mk func(args []string) admin.ServerRequest) *cobra.Command {
		example := "  dms server " + strings.NewReplacer("NAME", "ns2", "NEWNAME", "ns2-old", "SG", "internal", "ADDRESS", "[2001:db8::2]:5353").Replace(use)
		return &cobra.Command{
			Use: use, Short: short, Example: example, Args: exactArgs(nargs, what),
			RunE: func(cmd *cobra.Command, args []string) error {
				return run(cmd.Context(), f, true, op, mk(args), printServer)
			},
		}
	}
	byName := func(args []string) admin.ServerRequest { return admin.ServerRequest{Name: args[0]} }
	cmd.AddCommand(create, ls, set,
		&cobra.Command{
			Use: "show NAME", Short: "Show a server", Args: exactArgs(1, "the server name"), Example: "  dms server show ns2",
			RunE: func(cmd *cobra.Command, args []string) error {
				return run(cmd.Context(), f, false, "server.show", admin.ServerRequest{Name: args[0]}, printServer)
			},
		},
		one("enable NAME", "Notify and poll a disabled server again", "server.enable", 1, "the server name", byName),
		one("disable NAME", "Stop notifying and polling a server (it may still transfer)", "server.disable", 1, "the server name", byName),
		one("rename NAME NEWNAME", "Rename a server", "server.rename", 2, "the server name and its new name",
			func(a []string) admin.ServerRequest { return admin.ServerRequest{Name: a[0], NewName: a[1]} }),
		one("move NAME SG", "Move a server to another server group", "server.move", 2, "the server name and the server group",
			func(a []string) admin.ServerRequest { return admin.ServerRequest{Name: a[0], SG: a[1]} }),
		one("set-address NAME ADDRESS", "Change a server's address", "server.set_address", 2, "the server name and its address",
			func(a []string) admin.ServerRequest { return admin.ServerRequest{Name: a[0], Address: a[1]} }),
		&cobra.Command{
			Use: "delete NAME", Short: "Delete a server", Args: exactArgs(1, "the server name"), Example: "  dms server delete ns2",
			RunE: func(cmd *cobra.Command, args []string) error {
				return run(cmd.Context(), f, true, "server.delete", admin.ServerRequest{Name: args[0]}, func(w io.Writer, res *admin.ServerInfo) {
					fmt.Fprintf(w, "deleted server %s\n", res.Name)
				})
			},
		},
		newCmdServerConfig(f),
	)
	return cmd
}

func printServer(w io.Writer, s *admin.ServerInfo) {
	tw := tabwriter.NewWriter(w, 0, 8, 1, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s:\t%v\n", k, v) }
	row("server_name", s.Name)
	row("address", s.Address)
	row("sg_name", s.SG)
	row("server_type", s.Type)
	row("tsig_key", orNone(s.TSIGKey))
	state := "ENABLED"
	if s.Disabled {
		state = "DISABLED"
	}
	row("enabled", state)
	if s.Zones != nil && *s.Zones > 0 {
		row("zone_count", *s.Zones)
	}
	if st := s.Status; st != nil {
		row("state", st.State)
		row("since", fmtTime(st.Since))
		row("last_reply", fmtTime(st.LastReply))
		row("last_check", fmtTime(st.LastCheck))
		row("zones_behind", st.SerialLag)
		row("max_lag", st.MaxLag.Round(time.Second))
		row("retry_msg", orNone(st.LastError))
	}
	row("ctime", fmtTime(s.CTime))
	row("mtime", fmtTime(s.MTime))
	tw.Flush()
}

func newCmdZoneSetSG(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "set-sg ZONE SG",
		Short: "Move a zone to another primary server group",
		Long: `Move a zone to another primary server group. Its apex NS become the new SG's
when the zone has use_apex_ns on. To move without a gap, publish on both
first: dms zone alt-sg set ZONE SG, wait for the secondaries, then
dms zone alt-sg swap ZONE, and later dms zone alt-sg clear ZONE.`,
		Example: "  dms zone set-sg example.org external",
		Args:    exactArgs(2, "a zone and a server group"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.commitCmd(cmd.Context(), "zone.set_sg", admin.ZoneSGRequest{Name: args[0], SG: args[1]})
		},
	}
}

func newCmdZoneAltSG(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alt-sg",
		Short: "Set, swap or clear a zone's alternate server group",
		Long: `A zone's alternate server group also carries the zone (for a private SG, or
while moving between SGs); its apex NS always come from the primary SG.
set is the old dupe_zone_alt_sg, swap is swap_zone_sg, clear is
delete_zone_alt_sg.`,
	}
	cmd.AddCommand(
		&cobra.Command{
			Use: "set ZONE SG", Short: "Publish the zone on a second server group too", Example: "  dms zone alt-sg set example.org internal",
			Args: exactArgs(2, "a zone and a server group"),
			RunE: func(cmd *cobra.Command, args []string) error {
				return f.commitCmd(cmd.Context(), "zone.alt_sg", admin.ZoneSGRequest{Name: args[0], SG: args[1], Action: "set"})
			},
		},
		&cobra.Command{
			Use: "swap ZONE", Short: "Swap the zone's primary and alternate server groups", Example: "  dms zone alt-sg swap example.org",
			Args: exactArgs(1, "a zone"),
			RunE: func(cmd *cobra.Command, args []string) error {
				return f.commitCmd(cmd.Context(), "zone.alt_sg", admin.ZoneSGRequest{Name: args[0], Action: "swap"})
			},
		},
		&cobra.Command{
			Use: "clear ZONE", Short: "Stop publishing the zone on its alternate server group", Example: "  dms zone alt-sg clear example.org",
			Args: exactArgs(1, "a zone"),
			RunE: func(cmd *cobra.Command, args []string) error {
				return f.commitCmd(cmd.Context(), "zone.alt_sg", admin.ZoneSGRequest{Name: args[0], Action: "clear"})
			},
		},
	)
	return cmd
}

func newCmdStatus(f *Factory) *cobra.Command {
	var check bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the master and each secondary's state (the old show_dms_status)",
		Long: `Show the running master (listeners, store, zones, NOTIFYs waiting) and each
secondary server with its state: OK, LAGGING (behind on a zone for longer than
status_lag_threshold), RETRY (not answering; see its error), BROKEN (RETRY for
longer than status_broken_after) or DISABLED. Needs a running dms serve.`,
		Example: "  dms status\n  dms status --check",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd.Context(), f, false, "status", admin.StatusRequest{Check: check}, printStatus)
		},
	}
	cmd.Flags().BoolVar(&check, "check", false, "poll every secondary now, before showing")
	return cmd
}

func printStatus(w io.Writer, st *admin.Status) {
	m := st.Master
	tw := tabwriter.NewWriter(w, 0, 8, 1, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s:\t%v\n", k, v) }
	fmt.Fprintln(tw, "master:")
	row("  host", m.Host)
	row("  started", fmtTime(m.Started))
	row("  dns", strings.Join(m.DNS, " "))
	row("  metrics", m.Metrics)
	row("  store", fmt.Sprintf("%s (%d bytes, generation %d)", m.Store, m.StoreBytes, m.Generation))
	var zs []string
	for _, k := range []string{"PUBLISHED", "DISABLED", "DELETED", "CATALOG"} {
		zs = append(zs, fmt.Sprintf("%d %s", m.Zones[k], strings.ToLower(k)))
	}
	row("  zones", strings.Join(zs, ", "))
	row("  notify_pending", m.NotifyPending)
	if zc := m.ZoneCheck; zc != nil {
		var codes []string
		for code, n := range zc.ByCode {
			codes = append(codes, fmt.Sprintf("%d %s", n, code))
		}
		sort.Strings(codes)
		row("  zone_check", fmt.Sprintf("%s: %d zone(s), %d error(s), %d warning(s) %s", fmtTime(zc.Time), zc.Zones, zc.Errors, zc.Warnings, strings.Join(codes, ", ")))
	}
	tw.Flush()
	fmt.Fprintln(w, "\nservers:")
	if len(st.Servers) == 0 {
		fmt.Fprintln(w, "  (none polled yet; dms server ls lists them)")
		return
	}
	tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tADDRESS\tSG\tSTATE\tSINCE\tLAST_REPLY\tBEHIND\tCHECKED")
	for _, s := range st.Servers {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\n", s.Name, s.Address, s.SG, s.State, fmtTime(s.Since), fmtTime(s.LastReply), s.SerialLag, s.Checked)
	}
	tw.Flush()
	for _, s := range st.Servers {
		if s.LastError != "" {
			fmt.Fprintf(w, "  %s retry_msg:\n    %s\n", s.Name, s.LastError)
		}
	}
}

func newCmdServerConfig(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use: "config NAME", Short: "Print the configuration the secondary needs (BIND, Knot or NSD syntax by its type)",
		Long: `Print what the secondary NAME needs to take its server group's zones from dms,
in the syntax of its type (bind9: named.conf, knot: knot.conf, nsd: nsd.conf):
the TSIG key, where dms is, and the catalog zone (BIND, Knot) or the zones
(NSD). By default the statements to add to an existing configuration (for
BIND, the part that goes inside options is marked); with --full a whole
configuration file for a new secondary, which named-checkconf, knotc
conf-check and nsd-checkconf accept as it is. The TSIG key is defined in it,
unless --key-file names the file on the secondary that holds it (as dms tsig
create --key-file wrote it, in the server's syntax): a key defined twice is
an error to BIND.`,
		Example: "  dms server config ns2 > /tmp/dms-ns2.conf\n  dms server config --full ns2 > named.conf\n  dms server config --full --key-file /etc/bind/xfr-ns2.key ns2 > named.conf",
		Args:    exactArgs(1, "the server name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			full, _ := cmd.Flags().GetBool("full")
			keyFile, _ := cmd.Flags().GetString("key-file")
			return run(cmd.Context(), f, false, "server.config", admin.ServerRequest{Name: args[0], Full: full, KeyFile: keyFile}, func(w io.Writer, res *admin.ServerConfigResult) {
				io.WriteString(w, res.Config)
			})
		},
	}
	cmd.Flags().Bool("full", false, "a whole configuration file for a new secondary, not the statements to add")
	cmd.Flags().String("key-file", "", "include the server's TSIG key from this file on the secondary (as dms tsig create --key-file wrote it) instead of defining it again")
	return cmd
}
