package admin

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

// ptrWorld is a store with reverse and forward zones for the auto-PTR
// rules: 2001:db8:1::/48 (reference NET-A, inc_updates), inside it
// 2001:db8:1:200::/56 (reference CUST-B, inc_updates), 2001:db8:2::/48
// without inc_updates, 192.0.2.0/24 (NET-A, inc_updates), and forward
// zones a.example (CUST-A), b.example (CUST-B), n.example (NET-A).
type ptrWorld struct {
	t     *testing.T
	s     *Service
	admin Caller
	ctx   context.Context
}

func newPTRWorld(t *testing.T) *ptrWorld {
	s, c := newTestService(t)
	w := &ptrWorld{t: t, s: s, admin: c, ctx: context.Background()}
	configure(t, s, c)
	on, off := true, false
	for _, z := range []struct {
		name, ref string
		inc       *bool
	}{
		{"2001:db8:1::/48", "NET-A", &on}, {"2001:db8:1:200::/56", "CUST-B", &on}, {"2001:db8:2::/48", "NET-A", &off},
		{"192.0.2.0/24", "NET-A", &on}, {"a.example", "CUST-A", nil}, {"b.example", "CUST-B", nil}, {"n.example", "NET-A", nil},
	} {
		if _, err := s.ZoneCreate(w.ctx, c, ZoneCreateRequest{Name: z.name, Ref: z.ref, IncUpdates: z.inc}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tag := range []string{"CUST-A", "CUST-B"} {
		if _, err := s.SectagCreate(w.ctx, c, SectagRequest{Name: tag}); err != nil {
			t.Fatal(err)
		}
	}
	// The customers' panels reach their forward zones (CUST-A also runs
	// n.example, which belongs to NET-A's reference).
	for zone, tag := range map[string]string{"a.example": "CUST-A", "b.example": "CUST-B", "n.example": "CUST-A"} {
		if _, err := s.ZoneSectagChange(w.ctx, c, ZoneSectagRequest{Name: zone, Op: "add", Sectags: []string{tag}}); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func (w *ptrWorld) config(k, v string) {
	w.t.Helper()
	if _, err := w.s.ConfigSet(w.ctx, w.admin, ConfigSetRequest{Key: k, Value: v}); err != nil {
		w.t.Fatal(err)
	}
}

// add commits record lines into zone as caller and returns the auto-PTR
// results.
func (w *ptrWorld) add(c Caller, zone string, lines ...string) []zonedb.ReverseResult {
	w.t.Helper()
	res, err := w.s.RecordAdd(w.ctx, c, RecordRequest{Zone: zone, Records: lines})
	if err != nil {
		w.t.Fatalf("add %v to %s: %v", lines, zone, err)
	}
	return reverseResults(res)
}

func (w *ptrWorld) del(c Caller, zone string, lines ...string) []zonedb.ReverseResult {
	w.t.Helper()
	res, err := w.s.RecordDelete(w.ctx, c, RecordRequest{Zone: zone, Records: lines})
	if err != nil {
		w.t.Fatalf("delete %v from %s: %v", lines, zone, err)
	}
	return reverseResults(res)
}

func reverseResults(res *CommitResult) []zonedb.ReverseResult {
	var out []zonedb.ReverseResult
	for _, c := range res.Commits {
		out = append(out, c.Reverse...)
	}
	return out
}

// ptrs is the PTR RRset at addr's reverse name: "target [FLAGS] [REF:x]".
func (w *ptrWorld) ptrs(addr string) []string {
	w.t.Helper()
	a := netip.MustParseAddr(addr)
	var out []string
	err := w.s.db.View(func(v *zonedb.View) error {
		h, ok := v.FindZone(ReverseName(a))
		if !ok {
			return nil
		}
		z, err := v.ZoneByID(h.ID)
		if err != nil {
			return err
		}
		recs, err := v.RRset(z, ReverseName(a), dns.TypePTR)
		for _, r := range recs {
			s := r.RR.(*dns.PTR).Ptr
			if f := r.Flags.String(); f != "" {
				s += " " + f
			}
			if r.Ref != "" {
				s += " REF:" + r.Ref
			}
			out = append(out, s)
		}
		return err
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

func (w *ptrWorld) want(addr string, want ...string) {
	w.t.Helper()
	if got := w.ptrs(addr); !slices.Equal(got, want) {
		w.t.Errorf("PTR of %s: %q, want %q", addr, got, want)
	}
}

func wantAction(t *testing.T, res []zonedb.ReverseResult, action, reason string) {
	t.Helper()
	for _, r := range res {
		if r.Action == action && strings.Contains(r.Reason, reason) {
			return
		}
	}
	t.Errorf("no %s result with %q in %+v", action, reason, res)
}

func customer(tag string) Caller { return Caller{User: "panel", Host: "web", Sectag: tag} }

// TestAutoPTRRules: one subtest per rule of DESIGN.md "Auto reverse
// records" (the table in admin/autoptr.go's comment).
func TestAutoPTRRules(t *testing.T) {
	t.Run("AAAA creates the PTR with the forward zone's reference", func(t *testing.T) {
		w := newPTRWorld(t)
		res := w.add(w.admin, "a.example", "www AAAA 2001:db8:1::10")
		w.want("2001:db8:1::10", "www.a.example. REF:CUST-A")
		wantAction(t, res, ptrCreated, "")
	})
	t.Run("auto_reverse off does nothing", func(t *testing.T) {
		w := newPTRWorld(t)
		w.config("auto_reverse", "false")
		if res := w.add(w.admin, "a.example", "www AAAA 2001:db8:1::10"); len(res) != 0 {
			t.Errorf("results: %+v", res)
		}
		w.want("2001:db8:1::10")
	})
	t.Run("auto_create_ipv6_ptr off: AAAA does not feed it", func(t *testing.T) {
		w := newPTRWorld(t)
		w.config("auto_create_ipv6_ptr", "false")
		w.add(w.admin, "a.example", "www AAAA 2001:db8:1::10")
		w.want("2001:db8:1::10")
	})
	t.Run("A only with auto_create_ipv4_ptr or FORCEREV", func(t *testing.T) {
		w := newPTRWorld(t)
		w.add(w.admin, "a.example", "www A 192.0.2.10")
		w.want("192.0.2.10")
		w.add(w.admin, "a.example", ";!FORCEREV\nmail A 192.0.2.11")
		w.want("192.0.2.11", "mail.a.example. REF:CUST-A")
		w.config("auto_create_ipv4_ptr", "true")
		w.add(w.admin, "a.example", "ftp A 192.0.2.12")
		w.want("192.0.2.12", "ftp.a.example. REF:CUST-A")
	})
	t.Run("TRACKREV on A feeds it with auto_create_ipv4_ptr off, and stays on the record", func(t *testing.T) {
		w := newPTRWorld(t)
		res := w.add(w.admin, "a.example", ";!TRACKREV\nwww A 192.0.2.20")
		wantAction(t, res, ptrCreated, "")
		w.want("192.0.2.20", "www.a.example. REF:CUST-A")
		if recs := w.records("a.example", "www.a.example.", dns.TypeA); len(recs) != 1 || recs[0].Flags != zonedb.FlagTrackRev {
			t.Errorf("stored record: %+v, want it to keep TRACKREV", recs)
		}
	})
	t.Run("TRACKREV on AAAA feeds it with auto_create_ipv6_ptr off", func(t *testing.T) {
		w := newPTRWorld(t)
		w.config("auto_create_ipv6_ptr", "false")
		w.add(w.admin, "a.example", "plain AAAA 2001:db8:1::40")
		w.want("2001:db8:1::40")
		w.add(w.admin, "a.example", ";!TRACKREV\nwww AAAA 2001:db8:1::41")
		w.want("2001:db8:1::41", "www.a.example. REF:CUST-A")
	})
	t.Run("auto_reverse off wins over FORCEREV and TRACKREV", func(t *testing.T) {
		w := newPTRWorld(t)
		w.config("auto_reverse", "false")
		res := w.add(w.admin, "a.example", ";!FORCEREV\nf A 192.0.2.21", ";!TRACKREV\nt A 192.0.2.22", ";!TRACKREV\nt AAAA 2001:db8:1::42")
		if len(res) != 0 {
			t.Errorf("results: %+v", res)
		}
		w.want("192.0.2.21")
		w.want("192.0.2.22")
		w.want("2001:db8:1::42")
	})
	t.Run("the most specific reverse zone with inc_updates", func(t *testing.T) {
		w := newPTRWorld(t)
		res := w.add(w.admin, "a.example", "x AAAA 2001:db8:1:2ff::1", "y AAAA 2001:db8:1:300::1")
		if len(res) != 2 {
			t.Fatalf("results: %+v", res)
		}
		if res[0].Zone != "2.0.1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa." || res[1].Zone != "1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa." {
			t.Errorf("zones: %+v", res)
		}
		// The /56 without inc_updates: its parent /48 takes it.
		if _, err := w.s.ZoneSet(w.ctx, w.admin, ZoneSetRequest{Name: "2001:db8:1:200::/56", IncUpdates: new(bool)}); err != nil {
			t.Fatal(err)
		}
		res = w.add(w.admin, "a.example", "z AAAA 2001:db8:1:2ff::2")
		if len(res) != 1 {
			t.Fatalf("results: %+v", res)
		}
		if res[0].Zone != "1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa." || res[0].Action != ptrCreated {
			t.Errorf("without inc_updates on the /56: %+v", res)
		}
	})
	t.Run("an RFC 2317 classless zone is the most specific for IPv4", func(t *testing.T) {
		w := newPTRWorld(t)
		on := true
		if _, err := w.s.ZoneCreate(w.ctx, w.admin, ZoneCreateRequest{Name: "0-63.2.0.192.in-addr.arpa", Ref: "NET-A", IncUpdates: &on}); err != nil {
			t.Fatal(err)
		}
		res := w.add(w.admin, "a.example", ";!FORCEREV\nlow A 192.0.2.10", ";!FORCEREV\nhigh A 192.0.2.100")
		got := map[string]string{}
		for _, r := range res {
			got[r.Address] = r.PTR
		}
		if len(res) != 2 || got["192.0.2.10"] != "10.0-63.2.0.192.in-addr.arpa." || got["192.0.2.100"] != "100.2.0.192.in-addr.arpa." {
			t.Errorf("results: %+v", res)
		}
	})
	t.Run("a bulk load is summed up past the first results", func(t *testing.T) {
		w := newPTRWorld(t)
		var lines []string
		for i := range 150 {
			lines = append(lines, fmt.Sprintf("h%d AAAA 2001:db9::%x", i, i))
		}
		res := w.add(w.admin, "a.example", lines...)
		if len(res) != maxReport+1 || res[maxReport].Reason != "50 more addresses, not listed" {
			t.Errorf("%d results, want %d and a summary: %+v", len(res), maxReport+1, res[max(0, len(res)-1):])
		}
	})
	t.Run("a bulk commit finds its zones too", func(t *testing.T) {
		w := newPTRWorld(t)
		var lines []string
		for i := range bulkAddresses + 6 {
			lines = append(lines, fmt.Sprintf("b%d AAAA 2001:db8:1:5::%x", i, i+1))
		}
		lines = append(lines, ";!FORCEREV\nv4 A 192.0.2.99", "c AAAA 2001:db8:1:2ff::77")
		w.add(w.admin, "a.example", lines...)
		w.want("2001:db8:1:5::1", "b0.a.example. REF:CUST-A")
		w.want(fmt.Sprintf("2001:db8:1:5::%x", bulkAddresses+6), fmt.Sprintf("b%d.a.example. REF:CUST-A", bulkAddresses+5))
		w.want("192.0.2.99", "v4.a.example. REF:CUST-A")
		w.want("2001:db8:1:2ff::77", "c.a.example. REF:CUST-A") // the /56, in bulk mode too
	})
	t.Run("no reverse zone: skipped and reported, the forward commit lands", func(t *testing.T) {
		w := newPTRWorld(t)
		res := w.add(w.admin, "a.example", "www AAAA 2001:db8:2::10", "v AAAA 2001:db9::1")
		wantAction(t, res, ptrSkipped, "no reverse zone with inc_updates covers 2001:db8:2::10")
		wantAction(t, res, ptrSkipped, "covers 2001:db9::1")
		if recs := w.records("a.example", "www.a.example.", dns.TypeAAAA); len(recs) != 1 {
			t.Errorf("forward record: %v", recs)
		}
	})
	t.Run("privilege: a customer by reverse zone reference, refused otherwise", func(t *testing.T) {
		w := newPTRWorld(t)
		if _, err := w.s.ZoneSectagChange(w.ctx, w.admin, ZoneSectagRequest{Name: "b.example", Op: "add", Sectags: []string{"CUST-B"}}); err != nil {
			t.Fatal(err)
		}
		// CUST-B's forward zone, CUST-B's /56: allowed.
		w.add(customer("CUST-B"), "b.example", "h AAAA 2001:db8:1:2ff::5")
		w.want("2001:db8:1:2ff::5", "h.b.example. REF:CUST-B")
		// CUST-B's forward zone into NET-A's /48: refused.
		res := w.add(customer("CUST-B"), "b.example", "g AAAA 2001:db8:1:300::5")
		wantAction(t, res, ptrRefused, "reference CUST-B is not the reverse zone's")
		w.want("2001:db8:1:300::5")
		// The Admin sectag may do it.
		w.add(w.admin, "b.example", "k AAAA 2001:db8:1:300::6")
		w.want("2001:db8:1:300::6", "k.b.example. REF:CUST-B")
	})
	t.Run("privilege: a customer by the PTR's REF", func(t *testing.T) {
		w := newPTRWorld(t)
		// The PTR in NET-A's /48 carries REF:CUST-B (an admin made it);
		// its target is gone, so CUST-B may replace it.
		w.add(w.admin, "b.example", "old AAAA 2001:db8:1:300::7")
		w.del(w.admin, "b.example", "old AAAA")
		w.add(w.admin, "2001:db8:1::/48", ";!REF:CUST-B\n7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.0 PTR gone.b.example.")
		res := w.add(customer("CUST-B"), "b.example", "new AAAA 2001:db8:1:300::7")
		wantAction(t, res, ptrReplaced, "stale")
		w.want("2001:db8:1:300::7", "new.b.example. REF:CUST-B")
	})
	t.Run("two forward zones of different references compete for one address", func(t *testing.T) {
		w := newPTRWorld(t)
		// n.example (NET-A, the /48's reference) takes the address first.
		w.add(customer("CUST-A"), "n.example", "srv AAAA 2001:db8:1::99")
		w.want("2001:db8:1::99", "srv.n.example. REF:NET-A")
		// a.example (CUST-A) then claims it: not stale, no flag: kept.
		res := w.add(customer("CUST-A"), "a.example", "www AAAA 2001:db8:1::99")
		wantAction(t, res, ptrKept, "points at srv.n.example.")
		// With FORCEREV it is still refused: CUST-A is neither the zone's
		// reference nor the PTR's.
		res = w.add(customer("CUST-A"), "a.example", ";!FORCEREV\nwww2 AAAA 2001:db8:1::99")
		wantAction(t, res, ptrRefused, "neither the reverse zone's nor the PTR's")
		w.want("2001:db8:1::99", "srv.n.example. REF:NET-A")
	})
	t.Run("first address record wins within a commit", func(t *testing.T) {
		w := newPTRWorld(t)
		res := w.add(w.admin, "a.example", "one AAAA 2001:db8:1::20", "two AAAA 2001:db8:1::20")
		w.want("2001:db8:1::20", "one.a.example. REF:CUST-A")
		wantAction(t, res, ptrKept, "points at one.a.example.")
	})
	t.Run("LOCKPTR is never touched", func(t *testing.T) {
		w := newPTRWorld(t)
		w.add(w.admin, "2001:db8:1::/48", ";!LOCKPTR\n1.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 PTR mail.n.example.")
		res := w.add(w.admin, "a.example", ";!FORCEREV\nmx AAAA 2001:db8:1::21")
		wantAction(t, res, ptrSkipped, "locked (LOCKPTR)")
		w.want("2001:db8:1::21", "mail.n.example. LOCKPTR")
		// Nor deleted with its record.
		w.add(w.admin, "n.example", "mail AAAA 2001:db8:1::21")
		w.del(w.admin, "n.example", "mail AAAA")
		w.want("2001:db8:1::21", "mail.n.example. LOCKPTR")
	})
	t.Run("identical PTR: nothing changes", func(t *testing.T) {
		w := newPTRWorld(t)
		w.add(w.admin, "a.example", "www AAAA 2001:db8:1::22")
		before := w.serial("2001:db8:1::/48")
		w.add(w.admin, "a.example", "www TXT hello", ";!TRACKREV\nwww AAAA 2001:db8:1::22")
		if after := w.serial("2001:db8:1::/48"); after != before {
			t.Errorf("reverse zone serial moved %d -> %d", before, after)
		}
	})
	t.Run("FORCEREV replaces once and is not kept", func(t *testing.T) {
		w := newPTRWorld(t)
		w.add(w.admin, "a.example", "www AAAA 2001:db8:1::23")
		res := w.add(w.admin, "a.example", ";!FORCEREV\nweb AAAA 2001:db8:1::23")
		wantAction(t, res, ptrReplaced, "FORCEREV (was www.a.example.)")
		w.want("2001:db8:1::23", "web.a.example. REF:CUST-A")
		if recs := w.records("a.example", "web.a.example.", dns.TypeAAAA); len(recs) != 1 || recs[0].Flags != 0 {
			t.Errorf("stored record keeps its flag: %+v", recs)
		}
	})
	t.Run("TRACKREV replaces at every save", func(t *testing.T) {
		w := newPTRWorld(t)
		w.add(w.admin, "a.example", ";!TRACKREV\nwww AAAA 2001:db8:1::24")
		// Someone points the PTR elsewhere (at a name that has the
		// address, so it is not stale).
		w.add(w.admin, "n.example", "other AAAA 2001:db8:1::24")
		w.add(w.admin, "2001:db8:1::/48", "4.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 PTR other.n.example.")
		w.del(w.admin, "2001:db8:1::/48", "4.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 PTR www.a.example.")
		w.want("2001:db8:1::24", "other.n.example.")
		// Saving a.example's text (unchanged record) takes it back.
		text, err := w.s.ZoneShow(w.ctx, w.admin, ZoneRequest{Name: "a.example"})
		if err != nil {
			t.Fatal(err)
		}
		res, err := w.s.ZoneReplace(w.ctx, w.admin, ZoneReplaceRequest{Name: "a.example", Text: text.Text + "\nx TXT saved\n"})
		if err != nil {
			t.Fatal(err)
		}
		wantAction(t, reverseResults(res), ptrReplaced, "TRACKREV")
		w.want("2001:db8:1::24", "www.a.example. REF:CUST-A")
	})
	t.Run("TRACKREV on A replaces a differing PTR at every save, auto_create_ipv4_ptr off", func(t *testing.T) {
		w := newPTRWorld(t)
		w.add(w.admin, "a.example", ";!TRACKREV\nwww A 192.0.2.30")
		w.want("192.0.2.30", "www.a.example. REF:CUST-A")
		// other.n.example. has the address too, so its PTR is not stale:
		// only TRACKREV takes the PTR back.
		w.add(w.admin, "n.example", "other A 192.0.2.30")
		for i := range 2 {
			w.del(w.admin, "192.0.2.0/24", "30 PTR")
			w.add(w.admin, "192.0.2.0/24", "30 PTR other.n.example.")
			w.want("192.0.2.30", "other.n.example.")
			res := w.saveText("a.example", fmt.Sprintf("\nsave%d TXT saved\n", i))
			wantAction(t, res, ptrReplaced, "TRACKREV (was other.n.example.)")
			w.want("192.0.2.30", "www.a.example. REF:CUST-A")
		}
		// A save also puts back a PTR someone deleted.
		w.del(w.admin, "192.0.2.0/24", "30 PTR")
		wantAction(t, w.saveText("a.example", "\nagain TXT saved\n"), ptrCreated, "")
		w.want("192.0.2.30", "www.a.example. REF:CUST-A")
		// And a change to the RRset itself (record add) counts as a save.
		w.del(w.admin, "192.0.2.0/24", "30 PTR")
		w.add(w.admin, "192.0.2.0/24", "30 PTR other.n.example.")
		res := w.add(w.admin, "a.example", ";!TRACKREV\nwww A 192.0.2.31")
		wantAction(t, res, ptrReplaced, "TRACKREV (was other.n.example.)")
		w.want("192.0.2.30", "www.a.example. REF:CUST-A")
	})
	t.Run("FORCEREV on A replaces a differing PTR once, auto_create_ipv4_ptr off", func(t *testing.T) {
		w := newPTRWorld(t)
		w.add(w.admin, "n.example", "other A 192.0.2.32")
		w.add(w.admin, "192.0.2.0/24", "32 PTR other.n.example.")
		res := w.add(w.admin, "a.example", ";!FORCEREV\nwww A 192.0.2.32")
		wantAction(t, res, ptrReplaced, "FORCEREV (was other.n.example.)")
		w.want("192.0.2.32", "www.a.example. REF:CUST-A")
		// Once: the record lost its flag, a later save leaves the PTR.
		w.del(w.admin, "192.0.2.0/24", "32 PTR")
		w.add(w.admin, "192.0.2.0/24", "32 PTR other.n.example.")
		if res := w.saveText("a.example", "\nx TXT saved\n"); len(res) != 0 {
			t.Errorf("save after FORCEREV acted: %+v", res)
		}
		w.want("192.0.2.32", "other.n.example.")
	})
	t.Run("a stale PTR is replaced, a live one kept and reported", func(t *testing.T) {
		w := newPTRWorld(t)
		w.add(w.admin, "n.example", "gone AAAA 2001:db8:1::25")
		w.add(w.admin, "a.example", "live AAAA 2001:db8:1::26")
		w.config("auto_delete_ptr", "false")
		w.del(w.admin, "n.example", "gone AAAA")
		w.want("2001:db8:1::25", "gone.n.example. REF:NET-A")
		res := w.add(w.admin, "a.example", "new AAAA 2001:db8:1::25", "other AAAA 2001:db8:1::26")
		wantAction(t, res, ptrReplaced, "stale: gone.n.example. no longer has that address")
		wantAction(t, res, ptrKept, "points at live.a.example.")
		w.want("2001:db8:1::25", "new.a.example. REF:CUST-A")
		w.want("2001:db8:1::26", "live.a.example. REF:CUST-A")
	})
	t.Run("more than one PTR at the name: skipped", func(t *testing.T) {
		w := newPTRWorld(t)
		w.add(w.admin, "2001:db8:1::/48", "7.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 PTR p.n.example.", "7.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 PTR q.n.example.")
		res := w.add(w.admin, "a.example", ";!FORCEREV\nwww AAAA 2001:db8:1::27")
		wantAction(t, res, ptrSkipped, "2 PTR records")
	})
	t.Run("deleting the address record deletes our PTR", func(t *testing.T) {
		w := newPTRWorld(t)
		w.add(w.admin, "a.example", "www AAAA 2001:db8:1::28")
		res := w.del(w.admin, "a.example", "www AAAA 2001:db8:1::28")
		wantAction(t, res, ptrDeleted, "")
		w.want("2001:db8:1::28")
		// Not one of another reference, nor with auto_delete_ptr off.
		w.add(w.admin, "2001:db8:1::/48", ";!REF:CUST-B\n9.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 PTR www.a.example.")
		w.add(w.admin, "a.example", "www AAAA 2001:db8:1::29")
		w.del(w.admin, "a.example", "www AAAA")
		w.want("2001:db8:1::29", "www.a.example. REF:CUST-B")
		w.config("auto_delete_ptr", "false")
		w.add(w.admin, "a.example", "v AAAA 2001:db8:1::30")
		w.del(w.admin, "a.example", "v AAAA")
		w.want("2001:db8:1::30", "v.a.example. REF:CUST-A")
	})
	t.Run("an address moving to another name moves its PTR", func(t *testing.T) {
		w := newPTRWorld(t)
		w.add(w.admin, "a.example", "www AAAA 2001:db8:1::31")
		text, err := w.s.ZoneShow(w.ctx, w.admin, ZoneRequest{Name: "a.example"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.s.ZoneReplace(w.ctx, w.admin, ZoneReplaceRequest{Name: "a.example", Text: strings.Replace(text.Text, "www", "web", 1)}); err != nil {
			t.Fatal(err)
		}
		w.want("2001:db8:1::31", "web.a.example. REF:CUST-A")
	})
	t.Run("a reverse zone being edited is left alone", func(t *testing.T) {
		w := newPTRWorld(t)
		on := true
		if _, err := w.s.ZoneSet(w.ctx, w.admin, ZoneSetRequest{Name: "2001:db8:1::/48", EditLock: &on}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.s.ZoneLockTake(w.ctx, w.admin, ZoneLockRequest{Name: "2001:db8:1::/48"}); err != nil {
			t.Fatal(err)
		}
		res := w.add(w.admin, "a.example", "www AAAA 2001:db8:1::60")
		wantAction(t, res, ptrSkipped, "being edited")
		w.want("2001:db8:1::60")
	})
	t.Run("DISABLE records count as absent", func(t *testing.T) {
		w := newPTRWorld(t)
		w.add(w.admin, "a.example", ";!DISABLE\nwww AAAA 2001:db8:1::32")
		w.want("2001:db8:1::32")
	})
	t.Run("each reverse zone gets its own instance, in the same commit", func(t *testing.T) {
		w := newPTRWorld(t)
		w.config("auto_create_ipv4_ptr", "true")
		// The commit event (what NOTIFY and the caches follow) names every
		// zone of the commit, reverse ones included.
		var notified []string
		w.s.db.Subscribe(func(ev zonedb.Event) {
			for _, z := range ev.Zones {
				notified = append(notified, z.Zone)
			}
		})
		res, err := w.s.RecordAdd(w.ctx, w.admin, RecordRequest{Zone: "a.example", Records: []string{"h AAAA 2001:db8:1:2ff::40", "h AAAA 2001:db8:1::40", "h A 192.0.2.40"}})
		if err != nil {
			t.Fatal(err)
		}
		var zones []string
		for _, c := range res.Commits {
			if c.ZI == 0 {
				t.Errorf("%s: no new instance", c.Zone)
			}
			zones = append(zones, c.Zone)
		}
		want := []string{"a.example.", "2.0.1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", "1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", "2.0.192.in-addr.arpa."}
		slices.Sort(zones[1:])
		slices.Sort(want[1:])
		if !slices.Equal(zones, want) {
			t.Errorf("committed zones %v, want %v", zones, want)
		}
		slices.Sort(notified)
		slices.Sort(want)
		if !slices.Equal(notified, want) {
			t.Errorf("commit event for %v, want %v", notified, want)
		}
	})
	t.Run("LOCKPTR by Admin only, REF: by Admin or help desk", func(t *testing.T) {
		w := newPTRWorld(t)
		if _, err := w.s.RecordAdd(w.ctx, customer("CUST-A"), RecordRequest{Zone: "a.example", Records: []string{";!LOCKPTR\nwww AAAA 2001:db8:1::50"}}); !errors.Is(err, ErrForbidden) {
			t.Errorf("customer LOCKPTR: %v", err)
		}
		if _, err := w.s.RecordAdd(w.ctx, customer("CUST-A"), RecordRequest{Zone: "a.example", Records: []string{";!REF:CUST-B\nwww AAAA 2001:db8:1::50"}}); !errors.Is(err, ErrForbidden) {
			t.Errorf("customer REF: %v", err)
		}
		hd := customer("CUST-A")
		hd.Role = RoleHelpdesk
		if _, err := w.s.RecordAdd(w.ctx, hd, RecordRequest{Zone: "a.example", Records: []string{";!REF:CUST-B\nwww AAAA 2001:db8:1::50"}}); err != nil {
			t.Errorf("help desk REF: %v", err)
		}
		if _, err := w.s.RecordAdd(w.ctx, hd, RecordRequest{Zone: "a.example", Records: []string{";!LOCKPTR\nwww2 AAAA 2001:db8:1::51"}}); !errors.Is(err, ErrForbidden) {
			t.Errorf("help desk LOCKPTR: %v", err)
		}
		if _, err := w.s.RecordAdd(w.ctx, w.admin, RecordRequest{Zone: "a.example", Records: []string{";!LOCKPTR\nwww3 AAAA 2001:db8:1::52"}}); err != nil {
			t.Errorf("admin LOCKPTR: %v", err)
		}
	})
}

func (w *ptrWorld) records(zone, name string, t uint16) []zonedb.Record {
	w.t.Helper()
	var out []zonedb.Record
	err := w.s.db.View(func(v *zonedb.View) error {
		z, err := v.Zone(zone)
		if err != nil {
			return err
		}
		out, err = v.RRset(z, name, t)
		return err
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

// saveText saves zone's text as shown, with more appended, as an admin
// saving it from an editor would, and returns the auto-PTR results.
func (w *ptrWorld) saveText(zone, more string) []zonedb.ReverseResult {
	w.t.Helper()
	text, err := w.s.ZoneShow(w.ctx, w.admin, ZoneRequest{Name: zone})
	if err != nil {
		w.t.Fatal(err)
	}
	res, err := w.s.ZoneReplace(w.ctx, w.admin, ZoneReplaceRequest{Name: zone, Text: text.Text + more})
	if err != nil {
		w.t.Fatal(err)
	}
	return reverseResults(res)
}

func (w *ptrWorld) serial(zone string) uint32 {
	w.t.Helper()
	info, err := w.s.ZoneInfo(w.ctx, w.admin, ZoneRequest{Name: zone})
	if err != nil {
		w.t.Fatal(err)
	}
	return info.Serial
}
