package admin

import (
	"context"
	"errors"
	"os/user"
	"path/filepath"
	"testing"

	"dmsdns.org/dms/zonedb"
)

// TestHelpdeskGroup: a CLI user in config helpdesk_group runs the help
// desk's commands only; root, users outside the group, and API logins are
// not touched; without the key nobody is.
func TestHelpdeskGroup(t *testing.T) {
	db, err := zonedb.Open(filepath.Join(t.TempDir(), "dms.db"), zonedb.Options{Create: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := New(db, nil)
	ctx := context.Background()
	root := Caller{User: "root", Sectag: SectagAdmin, unix: true}
	for _, kv := range [][2]string{{"soa_mname", "ns1.example.net."}, {"soa_rname", "h.example.net."}, {"apex_ns", "ns1.example.net."}} {
		if _, err := s.ConfigSet(ctx, root, ConfigSetRequest{Key: kv[0], Value: kv[1]}); err != nil {
			t.Fatal(err)
		}
	}
	members := map[string]bool{"desk": true}
	old := inGroup
	inGroup = func(name, group string) bool { return group == "dmshelp" && members[name] }
	defer func() { inGroup = old }()
	desk := Caller{User: "desk", Sectag: SectagAdmin, unix: true}
	other := Caller{User: "alice", Sectag: SectagAdmin, unix: true}
	do := func(c Caller, op, args string) error {
		_, e := s.Do(ctx, c, op, []byte(args))
		if e != nil {
			return e
		}
		return nil
	}
	// No group configured: the desk user is Admin.
	if err := do(desk, "sg.create", `{"name":"before"}`); err != nil {
		t.Errorf("without helpdesk_group: %v", err)
	}
	if err := do(root, "config.set", `{"key":"helpdesk_group","value":"dmshelp"}`); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		op, args string
		ok       bool
	}{
		{"zone.create", `{"name":"desk.example"}`, true},
		{"record.add", `{"zone":"desk.example","records":["www A 192.0.2.1"]}`, true},
		{"zone.show", `{"name":"desk.example"}`, true},
		{"zone.delete", `{"name":"desk.example"}`, true},
		{"zone.undelete", `{"name":"desk.example"}`, true},
		{"record.find", `{"name":"www.desk.example"}`, true},
		{"zone.destroy", `{"name":"desk.example"}`, false},
		{"sg.create", `{"name":"x"}`, false},
		{"tsig.create", `{"name":"k"}`, false},
		{"config.set", `{"key":"helpdesk_group","value":""}`, false},
		{"view.create", `{"name":"v"}`, false},
		{"zone.nuke", `{"patterns":["*"]}`, false},
	} {
		err := do(desk, c.op, c.args)
		if c.ok && err != nil || !c.ok && !errors.Is(err, ErrForbidden) && (err == nil || AsError(err).Code != CodeForbidden) {
			t.Errorf("help desk %s: %v (allowed: %v)", c.op, err, c.ok)
		}
	}
	// Outside the group, and root: Admin.
	if err := do(other, "sg.create", `{"name":"y"}`); err != nil {
		t.Errorf("a user outside the group: %v", err)
	}
	members["root"] = true
	if err := do(root, "sg.create", `{"name":"z"}`); err != nil {
		t.Errorf("root in the group: %v", err)
	}
	// An API login (not a Unix user) is not the CLI's help desk.
	if err := do(Caller{User: "desk", Sectag: SectagAdmin}, "sg.create", `{"name":"w"}`); err != nil {
		t.Errorf("an API Admin named like the desk user: %v", err)
	}
	// The real group lookup: root is in its own primary group.
	if u, err := user.Current(); err == nil {
		if g, err := user.LookupGroupId(u.Gid); err == nil && !old(u.Username, g.Name) {
			t.Errorf("%s is not found in its own primary group %s", u.Username, g.Name)
		}
	}
}
