package cli_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dmsdns.org/dms/dnssec"
	"dmsdns.org/dms/zonedb"
)

// storeState is what the event log must account for: each zone's
// instance and settings, each server group and server.
type storeState struct {
	zones   map[string]string // name -> instance and settings
	zi      map[string]uint64 // name -> current instance
	sgs     map[string]string
	servers map[string]string
	// others are the store's other objects, "kind name" -> state: TSIG
	// keys, config keys, references, sectags, API logins; their events
	// name them in the message.
	others map[string]string
	lastEv uint64
}

// settingsOf is a zone's state less what a commit sets by itself (times,
// the signing bookkeeping, the edit lock's token).
func settingsOf(z *zonedb.Zone) string {
	c := *z
	c.MTime, c.SigExpiry, c.StaleSigs, c.LockToken, c.LockedAt, c.DeletedAt = time.Time{}, time.Time{}, 0, "", nil, nil
	b, _ := json.Marshal(c)
	return string(b)
}

func snapshot(t *testing.T, db *zonedb.DB) storeState {
	t.Helper()
	st := storeState{zones: map[string]string{}, zi: map[string]uint64{}, sgs: map[string]string{}, servers: map[string]string{}, others: map[string]string{}}
	err := db.View(func(v *zonedb.View) error {
		if err := v.Zones(func(z *zonedb.Zone) bool { st.zones[z.Name], st.zi[z.Name] = settingsOf(z), z.ZI; return true }); err != nil {
			return err
		}
		sgs, err := v.SGs()
		if err != nil {
			return err
		}
		for _, sg := range sgs {
			sg.MTime = time.Time{}
			b, _ := json.Marshal(sg)
			st.sgs[strings.ToLower(sg.Name)] = string(b)
		}
		servers, err := v.Servers()
		if err != nil {
			return err
		}
		for _, s := range servers {
			s.MTime = time.Time{}
			b, _ := json.Marshal(s)
			st.servers[strings.ToLower(s.Name)] = string(b)
		}
		if err := otherObjects(v, st.others); err != nil {
			return err
		}
		evs, err := v.Events(zonedb.EventFilter{})
		for _, e := range evs {
			st.lastEv = max(st.lastEv, e.ID)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func otherObjects(v *zonedb.View, out map[string]string) error {
	keys, err := v.TSIGKeys()
	if err != nil {
		return err
	}
	for _, k := range keys {
		b, _ := json.Marshal(k)
		out[zonedb.EventTSIG+" "+strings.TrimSuffix(k.Name, ".")] = string(b)
	}
	for k, val := range v.Config() {
		out[zonedb.EventConfig+" "+k] = val
	}
	refs, _, err := v.Refs()
	if err != nil {
		return err
	}
	for _, r := range refs {
		out[zonedb.EventRef+" "+strings.ToLower(r.Name)] = r.Name
	}
	tags, _, err := v.Sectags()
	if err != nil {
		return err
	}
	for _, t := range tags {
		out[zonedb.EventSectag+" "+strings.ToLower(t.Name)] = t.Name
	}
	users, err := v.APIUsers()
	for _, u := range users {
		b, _ := json.Marshal(u)
		out[zonedb.EventAPIUser+" "+strings.ToLower(u.Name)] = string(b)
	}
	return err
}

func changedKeys(a, b map[string]string) []string {
	var out []string
	for k, v := range a {
		if b[k] != v {
			out = append(out, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	return out
}

// checkEvents holds the rule for one change: every zone, server group and
// server it changed has exactly one event of its kind naming it, every
// event names who made the change, and a change of nothing logs nothing
// of these kinds.
func checkEvents(t *testing.T, db *zonedb.DB, what, by string, before, after storeState) {
	t.Helper()
	var evs []zonedb.LogEvent
	_ = db.View(func(v *zonedb.View) error {
		all, err := v.Events(zonedb.EventFilter{})
		for _, e := range all {
			if e.ID > before.lastEv {
				evs = append(evs, e)
			}
		}
		return err
	})
	count := map[string]int{}
	for _, e := range evs {
		if e.By != by {
			t.Errorf("%s: event %d (%s %s) by %q, want %q", what, e.ID, e.Kind, e.Message, e.By, by)
		}
		switch e.Kind {
		case zonedb.EventCommit:
			count["zone "+e.Zone]++
		case zonedb.EventSG:
			count["sg "+strings.ToLower(e.SG)]++
		case zonedb.EventServer:
			count["server "+strings.ToLower(e.Server)]++
			// A rename is one event, under the new name.
			if old, ok := strings.CutPrefix(e.Message, "changed: name "); ok {
				count["server "+strings.Fields(old)[0]]++
			}
		}
	}
	// One event per commit: a zone that got several instances (the
	// re-signer's key step, then its renewal) has one for each.
	want := map[string]int{}
	for _, z := range changedKeys(before.zones, after.zones) {
		want["zone "+z] = max(1, newInstances(db, z, before.zi[z]))
	}
	for _, s := range changedKeys(before.sgs, after.sgs) {
		want["sg "+s] = 1
	}
	for _, s := range changedKeys(before.servers, after.servers) {
		want["server "+s] = 1
	}
	// The other objects: one event of their kind naming each changed one.
	for _, k := range changedKeys(before.others, after.others) {
		kind, name, _ := strings.Cut(k, " ")
		n := 0
		for _, e := range evs {
			if e.Kind == kind && strings.Contains(strings.ToLower(e.Message), " "+name) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: %s changed with %d events naming it (want 1); events: %s", what, k, n, eventList(evs))
		}
	}
	for _, e := range evs {
		switch e.Kind {
		case zonedb.EventTSIG, zonedb.EventConfig, zonedb.EventRef, zonedb.EventSectag, zonedb.EventAPIUser:
			if len(changedKeys(before.others, after.others)) == 0 {
				t.Errorf("%s: event %q, and nothing of its kind changed", what, e.Message)
			}
		}
	}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%s: %s changed with %d events (want %d); events: %s", what, k, count[k], n, eventList(evs))
		}
	}
	for k, n := range count {
		if want[k] == 0 {
			t.Errorf("%s: %d events for %s, which did not change; events: %s", what, n, k, eventList(evs))
		}
	}
}

// newInstances counts the zone's instances after instance zi.
func newInstances(db *zonedb.DB, zone string, zi uint64) int {
	n := 0
	_ = db.View(func(v *zonedb.View) error {
		z, err := v.Zone(zone)
		if err != nil {
			return err
		}
		zis, err := v.ZIs(z)
		for _, x := range zis {
			if x.ID > zi {
				n++
			}
		}
		return err
	})
	return n
}

func eventList(evs []zonedb.LogEvent) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "\n  %d %s zone=%q sg=%q server=%q by=%q: %s", e.ID, e.Kind, e.Zone, e.SG, e.Server, e.By, e.Message)
	}
	return b.String()
}

// TestEveryChangeLeavesOneEvent: every store change made through the CLI
// (zones, records, server group moves, server groups with their catalog
// zones, servers, DNSSEC enable and key changes, vacuum; TSIG keys,
// config, references, sectags and API logins) and the
// re-signer leaves exactly one event for each zone, server group or
// server it changed, naming who made it. Before the one commit door,
// server-group changes, catalog zones and zone settings (delete, move,
// lock) left none.
func TestEveryChangeLeavesOneEvent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dms.db")
	writeFile(t, dir, "example.org", exampleZone)
	var by string
	steps := append(scenario(dir),
		step{name: "dnssec-enable", args: []string{"dnssec", "enable", "example.org", "--ksk-zsk"}},
		step{name: "dnssec-ds-seen", args: []string{"dnssec", "ds-seen", "example.org"}},
		step{name: "dnssec-rollover", args: []string{"dnssec", "rollover", "example.org"}},
		step{name: "record-add-signed", args: []string{"record", "add", "example.org", "new A 192.0.2.77"}},
		step{name: "zone-delete", args: []string{"zone", "delete", "192.0.2.0/24"}},
		step{name: "zone-undelete", args: []string{"zone", "undelete", "192.0.2.0/24"}},
		step{name: "vacuum", args: []string{"vacuum"}},
		step{name: "ref-create", args: []string{"ref", "create", "NET-B"}},
		step{name: "ref-rename", args: []string{"ref", "rename", "NET-B", "NET-C"}},
		step{name: "ref-delete", args: []string{"ref", "delete", "NET-C"}},
		step{name: "config-unset", args: []string{"config", "set", "apex_ns", ""}},
		step{name: "sectag-create-panel", args: []string{"sectag", "create", "PANEL"}},
		step{name: "api-user-add", args: []string{"api", "user", "add", "panel1", "--sectag", "PANEL"}, stdin: "a long enough password\n"},
		step{name: "api-user-delete", args: []string{"api", "user", "delete", "panel1"}},
		step{name: "tsig-create", args: []string{"tsig", "create", "upd-key"}},
	)
	changes := 0
	for _, s := range steps {
		var before storeState
		if db := openStore(t, path); db != nil {
			before = snapshot(t, db)
			db.Close()
		}
		r := run(t, path, s.stdin, s.args...)
		if r.code != s.code {
			t.Fatalf("%s: exit %d, want %d: %s", s.name, r.code, s.code, r.err)
		}
		db := openStore(t, path)
		after := snapshot(t, db)
		if by == "" {
			// The CLI commits as user@host/Admin: the first zone instance
			// says who.
			_ = db.View(func(v *zonedb.View) error {
				z, err := v.Zone("example.net")
				if err == nil {
					var zi *zonedb.ZI
					if zi, err = v.ZI(z, z.ZI); err == nil {
						by = zi.ChangeBy
					}
				}
				return nil
			})
		}
		if by != "" {
			checkEvents(t, db, s.name, by, before, after)
		}
		if len(changedKeys(before.zones, after.zones))+len(changedKeys(before.sgs, after.sgs))+len(changedKeys(before.servers, after.servers))+len(changedKeys(before.others, after.others)) > 0 {
			changes++
		}
		db.Close()
	}
	if by == "" || !strings.HasSuffix(by, "/Admin") || changes < 30 {
		t.Fatalf("committer %q, %d changing steps", by, changes)
	}

	// The re-signer renews the signed zone's signatures: one event, by it.
	db := openStore(t, path)
	defer db.Close()
	db.SetSigner(dnssec.NewSigner())
	db.SetClock(func() time.Time { return time.Now().Add(40 * 24 * time.Hour) })
	before := snapshot(t, db)
	rs := dnssec.NewResigner(db, nil)
	rs.ChangeBy = "dms-resigner@test/Admin"
	if n := rs.Once(context.Background()); n < 1 {
		t.Fatalf("re-signer renewed %d zones, want 1", n)
	}
	checkEvents(t, db, "re-sign", rs.ChangeBy, before, snapshot(t, db))
}

func openStore(t *testing.T, path string) *zonedb.DB {
	t.Helper()
	db, err := zonedb.Open(path, zonedb.Options{})
	if err != nil {
		if errors.Is(err, zonedb.ErrNoStore) {
			return nil
		}
		t.Fatal(err)
	}
	return db
}
