package cli

import (
	"fmt"
	"io"
	"net/netip"
	"strings"
	"text/tabwriter"
	"time"

	"dmsdns.org/dms/admin"
	"dmsdns.org/dms/zonedb"
)

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// printCommits prints a commit result; -v lists every auto-PTR result.
func (f *Factory) printCommits(w io.Writer, res *admin.CommitResult) {
	printCommits(w, res, f.Verbose)
}

func printCommits(w io.Writer, res *admin.CommitResult, verbose bool) {
	for _, c := range res.Commits {
		switch {
		case c.Destroyed:
			fmt.Fprintf(w, "destroyed zone %s\n", c.Zone)
		case c.Created:
			fmt.Fprintf(w, "created zone %s: zi %d, serial %d, %d records\n", c.Zone, c.ZI, c.Serial, c.Added)
		case c.ZI != 0:
			fmt.Fprintf(w, "zone %s: zi %d, serial %d -> %d (+%d -%d records)\n", c.Zone, c.ZI, c.OldSerial, c.Serial, c.Added, c.Removed)
		case c.CommentsChanged:
			fmt.Fprintf(w, "zone %s: comments saved (serial %d unchanged: comments are not DNS data)\n", c.Zone, c.Serial)
		default:
			fmt.Fprintf(w, "zone %s: saved (serial %d unchanged)\n", c.Zone, c.Serial)
		}
		for _, p := range c.Warnings {
			fmt.Fprintf(w, "  %s\n", p)
		}
		var groups []*ptrGroup
		for _, r := range c.Reverse {
			if !verbose && (r.Action == "skipped" || r.Action == "refused") {
				groups = addToGroup(groups, r)
				continue
			}
			printReverse(w, r)
		}
		for _, g := range groups {
			g.print(w, c.Zone)
		}
	}
}

// printReverse prints one auto-PTR result.
func printReverse(w io.Writer, r zonedb.ReverseResult) {
	if r.Address == "" { // a summary
		fmt.Fprintf(w, "  auto-PTR %s: %s\n", r.Action, r.Reason)
		return
	}
	fmt.Fprintf(w, "  auto-PTR %s: %s %s -> %s", r.Action, r.Address, r.PTR, r.Name)
	if r.Zone != "" {
		fmt.Fprintf(w, " (zone %s)", r.Zone)
	}
	if r.Reason != "" {
		fmt.Fprintf(w, ": %s", r.Reason)
	}
	fmt.Fprintln(w)
}

// ptrGroup is the auto-PTR results of one action and one reason (the
// reason with the address and the PTR's name taken out).
type ptrGroup struct {
	action, key string
	n           int
	first       zonedb.ReverseResult
	noZone      bool // no reverse zone takes these addresses
}

func addToGroup(groups []*ptrGroup, r zonedb.ReverseResult) []*ptrGroup {
	n, key := 1, r.Reason
	if r.Address == "" {
		// "N more addresses, not listed": the report's own count.
		if _, err := fmt.Sscanf(r.Reason, "%d more addresses", &n); err != nil {
			n = 1
		}
		key = ""
	} else {
		key = strings.ReplaceAll(key, r.Address, "ADDRESS")
		if r.PTR != "" {
			key = strings.ReplaceAll(key, r.PTR, "NAME")
		}
	}
	for _, g := range groups {
		if g.action == r.Action && (g.key == key || key == "") {
			g.n += n
			return groups
		}
	}
	return append(groups, &ptrGroup{action: r.Action, key: key, n: n, first: r,
		noZone: strings.HasPrefix(r.Reason, "no reverse zone")})
}

func (g *ptrGroup) print(w io.Writer, zone string) {
	what := "1 address"
	if g.n != 1 {
		what = fmt.Sprintf("%d addresses", g.n)
	}
	if g.first.Address != "" {
		what += " (" + g.first.Address
		if g.n > 1 {
			what += ", ..."
		}
		what += ")"
	}
	why := g.first.Reason
	if g.first.Address != "" {
		them := "them"
		if g.n == 1 {
			them = "it"
		}
		why = strings.ReplaceAll(g.key, "ADDRESS", them)
		why = strings.ReplaceAll(why, "NAME", "the PTR's name")
	}
	fmt.Fprintf(w, "  auto-PTR %s for %s: %s", g.action, what, why)
	if g.noZone {
		if a, err := netip.ParseAddr(g.first.Address); err == nil {
			bits := 24
			if a.Is6() {
				bits = 48
			}
			fmt.Fprintf(w, "; create one (dms zone create %s --inc-updates) and save the zone again", netip.PrefixFrom(a, bits).Masked())
		}
	}
	fmt.Fprintf(w, "; -v lists each (so does dms events --zone %s)\n", strings.TrimSuffix(zone, "."))
}

func printZoneInfo(w io.Writer, zi *admin.ZoneInfo) {
	tw := tabwriter.NewWriter(w, 0, 8, 1, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s:\t%v\n", k, v) }
	row("name", zi.Name)
	if zi.View != "" {
		row("view", zi.View)
	}
	row("state", zi.State)
	row("reference", orNone(zi.Reference))
	row("sg", orNone(zi.SG))
	row("alt_sg", orNone(zi.AltSG))
	row("inc_updates", zi.IncUpdates)
	row("edit_lock", zi.EditLock)
	row("dnssec", zi.DNSSEC)
	row("nsec3", zi.NSEC3)
	row("use_apex_ns", zi.UseApexNS)
	if zi.LockedAt != nil {
		row("lock_state", "EDIT_LOCK")
		row("locked_by", zi.LockedBy+" since "+fmtTime(*zi.LockedAt))
	} else {
		row("lock_state", "EDIT_UNLOCK")
	}
	row("soa_serial", zi.Serial)
	row("zi_id", zi.ZI)
	row("zone_id", zi.ID)
	row("ctime", fmtTime(zi.CTime))
	row("mtime", fmtTime(zi.MTime))
	if zi.DeletedAt != nil {
		row("deleted_start", fmtTime(*zi.DeletedAt))
	} else {
		row("deleted_start", "None")
	}
	if zi.RRsets != nil {
		row("rrsets", *zi.RRsets)
	}
	if zi.ZIs != nil {
		row("zi_count", *zi.ZIs)
	}
	if c := zi.Current; c != nil {
		fmt.Fprintln(tw)
		row("zi_id", c.ID)
		row("change_by", c.ChangeBy)
		row("ctime", fmtTime(c.CTime))
		row("ptime", fmtTime(c.PTime))
		row("soa_serial", c.Serial)
	}
	tw.Flush()
}

func orNone(s string) string {
	if s == "" {
		return "None"
	}
	return s
}

func printHistory(w io.Writer, zis []zonedb.ZI) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ZI\tSERIAL\tCTIME\tCHANGE_BY\tCHANGES\tCOMMENT")
	for _, z := range zis {
		ch := fmt.Sprintf("+%d -%d", z.Added, z.Removed)
		if z.Base {
			ch = fmt.Sprintf("created (%d)", z.Added)
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\n", z.ID, z.Serial, fmtTime(z.CTime), z.ChangeBy, ch, z.Comment)
	}
	tw.Flush()
}

func printDiff(w io.Writer, d *admin.ZoneDiffResult) {
	if d.With != "" {
		fmt.Fprintf(w, "--- %s zi %d serial %d\n+++ %s zi %d serial %d\n", d.Zone, d.From, d.FromSerial, d.With, d.To, d.ToSerial)
		for _, l := range d.Removed {
			fmt.Fprintf(w, "-%s\n", l)
		}
		for _, l := range d.Added {
			fmt.Fprintf(w, "+%s\n", l)
		}
		return
	}
	fmt.Fprintf(w, "--- %s zi %d serial %d\n+++ %s zi %d serial %d\n", d.Zone, d.From, d.FromSerial, d.Zone, d.To, d.ToSerial)
	for _, l := range d.Removed {
		fmt.Fprintf(w, "-%s\n", l)
	}
	for _, l := range d.Added {
		fmt.Fprintf(w, "+%s\n", l)
	}
}

func printConfig(w io.Writer, entries []admin.ConfigEntry) {
	tw := tabwriter.NewWriter(w, 0, 8, 1, ' ', 0)
	for _, e := range entries {
		v := e.Value
		if v == "" {
			v = "(not set)"
		}
		fmt.Fprintf(tw, "%s:\t%s\n", e.Name, v)
	}
	tw.Flush()
}

func printRefs(w io.Writer, refs []admin.RefInfo) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "REFERENCE\tZONES")
	for _, r := range refs {
		fmt.Fprintf(tw, "%s\t%d\n", r.Name, r.Zones)
	}
	tw.Flush()
}

func printZoneList(w io.Writer, zones []admin.ZoneInfo, long bool) {
	if !long {
		for _, z := range zones {
			fmt.Fprintln(w, zoneLabel(z))
		}
		return
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ZONE\tREFERENCE\tSERIAL\tSTATE\tFLAGS")
	for _, z := range zones {
		var fl []string
		for _, f := range []struct {
			on   bool
			name string
		}{{z.IncUpdates, "inc_updates"}, {z.EditLock, "edit_lock"}, {z.DNSSEC, "dnssec"}} {
			if f.on {
				fl = append(fl, f.name)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", zoneLabel(z), orNone(z.Reference), z.Serial, z.State, strings.Join(fl, ","))
	}
	tw.Flush()
}

// zoneLabel is a zone's name, with its view when not the default one.
func zoneLabel(z admin.ZoneInfo) string {
	if z.View == "" {
		return z.Name
	}
	return z.Name + " (view " + z.View + ")"
}
