package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"dmsdns.org/dms/zonedb"
)

// ctlSeeds are control requests for the fuzzer to start from: one or more
// for each kind of operation, on the zone, key, SG and server that
// FuzzControlRequest's store holds.
func ctlSeeds() []ctlRequest {
	t, f := true, false
	zoneText := "$TTL 300\n@ SOA ns1.example.net. h.example.net. 1 600 600 604800 600\n@ NS ns1.example.net.\n;!REF:cust1\nwww A 192.0.2.1\n  AAAA 2001:db8::1\n"
	key := "k1"
	seeds := []struct {
		op   string
		args any
	}{
		{"zone.create", ZoneCreateRequest{Name: "new.example", IncUpdates: &t, DNSSEC: &f}},
		{"zone.create", ZoneCreateRequest{Name: "2001:db8:1::/48", IncUpdates: &t}},
		{"zone.load", ZoneLoadRequest{File: "load.example", Text: zoneText}},
		{"zone.show", ZoneRequest{Name: "example.org"}},
		{"zone.replace", ZoneReplaceRequest{Name: "example.org", Text: zoneText + "mail MX 10 www\n"}},
		{"zone.info", ZoneRequest{Name: "192.0.2.1"}},
		{"zone.list", ZoneListRequest{Patterns: []string{"*.example"}}},
		{"zone.history", ZoneRequest{Name: "example.org"}},
		{"zone.diff", ZoneDiffRequest{Name: "example.org", From: 1, To: 2}},
		{"zone.rollback", ZoneRequest{Name: "example.org", ZI: 1}},
		{"zone.set", ZoneSetRequest{Name: "example.org", EditLock: &t}},
		{"zone.serial", ZoneSerialRequest{Name: "example.org", Bump: true}},
		{"zone.set_ref", ZoneSetRefRequest{Name: "example.org", Ref: "cust1"}},
		{"zone.delete", ZoneRequest{Name: "example.org"}},
		{"zone.undelete", ZoneRequest{Name: "example.org"}},
		{"zone.destroy", ZoneRequest{Name: "new.example"}},
		{"record.add", RecordRequest{Zone: "example.org", Records: []string{"ftp 300 CNAME www", "www AAAA 2001:db8::2"}}},
		{"record.delete", RecordRequest{Zone: "example.org", Records: []string{"www AAAA"}}},
		{"zone.rrsets", RRsetsRequest{Name: "example.org"}},
		{"zone.rrsets_patch", RRsetsRequest{Name: "example.org", RRsets: []RRsetPatch{{RRset: RRset{Name: "x", Type: "TXT", TTL: 60, Records: []RRsetRecord{{Content: `"a"`, Flags: []string{"LOCKPTR"}}}}, ChangeType: "REPLACE"}}}},
		{"config.show", nil},
		{"config.set", ConfigSetRequest{Key: "zi_max_num", Value: "30"}},
		{"ref.create", RefRequest{Name: "cust3@ISP"}},
		{"ref.list", RefListRequest{Patterns: []string{"cust*"}}},
		{"ref.rename", RefRequest{Name: "cust3@ISP", NewName: "cust4@ISP"}},
		{"tsig.create", TSIGRequest{Name: "k2", Algorithm: "hmac-sha512"}},
		{"tsig.import", TSIGRequest{Name: "k3", Secret: "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}},
		{"tsig.show", TSIGRequest{Name: key}},
		{"tsig.policy", TSIGPolicyRequest{Name: key, Rules: []string{"example.org _acme-challenge.* TXT"}}},
		{"sg.create", SGRequest{Name: "int", ApexNS: &[]string{"ns1.example.net"}}},
		{"sg.set", SGRequest{Name: "ext", CatalogZone: new("cat.example")}},
		{"server.create", ServerRequest{Name: "ns3", Address: "[2001:db8::3]:5353", SG: "ext", TSIGKey: &key}},
		{"server.config", ServerRequest{Name: "ns2"}},
		{"server.rename", ServerRequest{Name: "ns2", NewName: "ns9"}},
		{"server.set_address", ServerRequest{Name: "ns2", Address: "192.0.2.9"}},
		{"zone.set_sg", ZoneSGRequest{Name: "example.org", SG: "ext"}},
		{"zone.alt_sg", ZoneSGRequest{Name: "example.org", SG: "ext", Action: "set"}},
		{"status", StatusRequest{}},
		{"dnssec.enable", DNSSECRequest{Name: "example.org", Algorithm: 13, Iterations: 0, Salt: "ab"}},
		{"dnssec.keys", DNSSECRequest{Name: "example.org", Digest: 4}},
		{"dnssec.rollover", RolloverRequest{Name: "example.org", KSK: true}},
		{"dnssec.disable", DNSSECRequest{Name: "example.org"}},
		{"sectag.create", SectagRequest{Name: "CUST-B"}},
		{"zone.sectag_change", ZoneSectagRequest{Name: "example.org", Op: "add", Sectags: []string{"CUST-A"}}},
		{"vacuum", VacuumRequest{What: "all", DryRun: true}},
		{"zone.lock", ZoneLockRequest{Name: "example.org"}},
		{"zone.unlock", ZoneLockRequest{Name: "example.org", Token: "x"}},
		{"event.list", EventListRequest{Limit: 3}},
		{"event.show", EventShowRequest{ID: 1}},
		{"api.user_list", nil},
	}
	out := make([]ctlRequest, len(seeds))
	for i, s := range seeds {
		out[i].Op = s.op
		if s.args != nil {
			out[i].Args, _ = json.Marshal(s.args)
		}
	}
	return out
}

// fuzzService is a store with a zone, a reverse zone, a key, an SG with
// a server and a sectag, for the operations to act on.
func fuzzService(tb testing.TB) *Service {
	db, err := zonedb.Open(filepath.Join(tb.TempDir(), "dms.db"), zonedb.Options{Create: true, NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	s := New(db, nil)
	ctx, c := tb.Context(), Caller{User: "setup", Sectag: SectagAdmin}
	steps := []func() error{
		func() error {
			_, err := s.ConfigSet(ctx, c, ConfigSetRequest{Key: "soa_mname", Value: "ns1.example.net."})
			return err
		},
		func() error {
			_, err := s.ConfigSet(ctx, c, ConfigSetRequest{Key: "soa_rname", Value: "h.example.net."})
			return err
		},
		func() error {
			_, err := s.ConfigSet(ctx, c, ConfigSetRequest{Key: "apex_ns", Value: "ns1.example.net."})
			return err
		},
		func() error {
			_, err := s.ZoneLoad(ctx, c, ZoneLoadRequest{File: "example.org", Text: "$TTL 300\n@ SOA ns1.example.net. h.example.net. 1 600 600 604800 600\n@ NS ns1.example.net.\nwww A 192.0.2.1\n"})
			return err
		},
		func() error {
			_, err := s.ZoneCreate(ctx, c, ZoneCreateRequest{Name: "192.0.2.0/24", IncUpdates: new(true)})
			return err
		},
		func() error { _, err := s.TSIGCreate(ctx, c, TSIGRequest{Name: "k1"}); return err },
		func() error { _, err := s.SGCreate(ctx, c, SGRequest{Name: "ext"}); return err },
		func() error {
			_, err := s.ServerCreate(ctx, c, ServerRequest{Name: "ns2", Address: "192.0.2.2", SG: "ext"})
			return err
		},
		func() error { _, err := s.SectagCreate(ctx, c, SectagRequest{Name: "CUST-A"}); return err },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			tb.Fatal(err)
		}
	}
	return s
}

// FuzzControlRequest: whatever comes on the control socket is answered
// with a response that encodes, never a panic, and never an internal
// error (every bad request is the sender's error, with its code).
func FuzzControlRequest(f *testing.F) {
	for _, r := range ctlSeeds() {
		b, _ := json.Marshal(r)
		f.Add(b)
	}
	f.Add([]byte(`{"op":"zone.show","args":{"name":"example.org"}} trailing`))
	f.Add([]byte(`{"op":"zone.show","args":null}`))
	f.Add([]byte(`{"op":"nope"}`))
	f.Add([]byte(`[]`))
	s := fuzzService(f)
	cs := &ControlServer{s: s}
	caller := Caller{User: "fuzz", Host: "localhost", Sectag: SectagAdmin}
	f.Fuzz(func(t *testing.T, req []byte) {
		resp := cs.answer(t.Context(), caller, bytes.NewReader(req))
		if _, err := json.Marshal(&resp); err != nil {
			t.Fatalf("response does not encode: %v", err)
		}
		if resp.Error != nil && resp.Error.Code == CodeInternal {
			t.Fatalf("internal error for %q: %s", req, resp.Error.Message)
		}
	})
}

// TestControlPanicAnswered: an operation that panics is answered as an
// internal error; the control server goes on.
func TestControlPanicAnswered(t *testing.T) {
	ops["test.panic"] = func(*Service, context.Context, Caller, json.RawMessage) (any, error) { panic("boom") }
	defer delete(ops, "test.panic")
	cs := &ControlServer{s: fuzzService(t)}
	resp := cs.answer(t.Context(), Caller{User: "t", Sectag: SectagAdmin}, strings.NewReader(`{"op":"test.panic"}`))
	if resp.Error == nil || resp.Error.Code != CodeInternal || !strings.Contains(resp.Error.Message, "test.panic") {
		t.Errorf("answer to a panicking operation: %+v", resp.Error)
	}
	if resp := cs.answer(t.Context(), Caller{User: "t", Sectag: SectagAdmin}, strings.NewReader(`{"op":"zone.list"}`)); resp.Error != nil {
		t.Errorf("the next request: %v", resp.Error)
	}
}
