package admin

import (
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"dmsdns.org/dms/zonedb"
)

var update = flag.Bool("update", false, "rewrite the golden files in admin/testdata")

// secConfCase is one secondary configuration to print.
type secConfCase struct {
	name    string
	srv     zonedb.Server
	sg      zonedb.SG
	key     *zonedb.TSIGKey
	members []string
}

var (
	secConfKey = &zonedb.TSIGKey{Name: "ns1-key.example.net.", Algorithm: "hmac-sha256.",
		Secret: "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI="}
	secConfKey512 = &zonedb.TSIGKey{Name: "xfr.example.org.", Algorithm: "hmac-sha512.",
		Secret: "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}
	secConfSG = zonedb.SG{Name: "sg1", CatalogZone: zonedb.DefaultCatalogZone("sg1"),
		// The duplicate (192.0.2.1 is 192.0.2.1:53) is printed once.
		MasterAddress: []string{"192.0.2.1", "[2001:db8::1]:5300", "192.0.2.1:53"}}
	secConfMembers = []string{"example.org.", "example.net.", "0/25.2.0.192.in-addr.arpa.", "example.net."}
)

func secConfCases() []secConfCase {
	var cases []secConfCase
	for _, typ := range zonedb.ServerTypes {
		srv := zonedb.Server{Name: "ns1", Address: "198.51.100.1:53", SG: "sg1", Type: typ, TSIGKey: secConfKey.Name}
		cases = append(cases, secConfCase{name: typ + "-key", srv: srv, sg: secConfSG, key: secConfKey, members: secConfMembers})

		srv.Name, srv.TSIGKey = "ns2", ""
		sg := secConfSG
		sg.MasterAddress = []string{"192.0.2.1:5300"}
		cases = append(cases, secConfCase{name: typ + "-nokey", srv: srv, sg: sg, members: []string{"example.org."}})

		srv = zonedb.Server{Name: "ns3", Address: "[2001:db8:1::3]:53", SG: "Priv", Type: typ, TSIGKey: secConfKey512.Name}
		sg = zonedb.SG{Name: "Priv", CatalogZone: "catalog.example.net.", MasterAddress: []string{"2001:db8::1"},
			AllowQuery: []string{"192.0.2.0/24", "2001:db8::/32", "198.51.100.7"}}
		cases = append(cases, secConfCase{name: typ + "-private", srv: srv, sg: sg, key: secConfKey512})
	}
	return cases
}

func TestSecondaryConfigGolden(t *testing.T) {
	for _, full := range []bool{false, true} {
		for _, c := range secConfCases() {
			name := c.name
			if full {
				name = "full-" + c.name
			}
			testSecondaryConfigGolden(t, name, func() (string, error) {
				return SecondaryConfig(c.srv, c.sg, c.key, c.members, SecConfOptions{Full: full})
			})
		}
	}
}

func testSecondaryConfigGolden(t *testing.T, name string, gen func() (string, error)) {
	t.Run(name, func(t *testing.T) {
		got, err := gen()
		if err != nil {
			t.Fatal(err)
		}
		again, _ := gen()
		if again != got {
			t.Errorf("two printings differ:\n%s\n---\n%s", got, again)
		}
		path := filepath.Join("testdata", "secconf", name+".golden")
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (write the golden files with go test ./admin -run SecondaryConfig -update)", err)
		}
		if got != string(want) {
			t.Errorf("%s differs from %s:\n--- got\n%s--- want\n%s", name, path, got, want)
		}
	})
}

// checker finds a configuration checker, in PATH or in the sbin
// directories a non-root PATH may lack. A missing checker fails the test:
// the configurations must be checked by the programs that read them.
func checker(t *testing.T, name, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatalf("%s not found: install the Debian package %s (apt-get install -y %s) to check the %s configurations", name, pkg, pkg, pkg)
	return ""
}

// wrapConfig makes a whole configuration file around a printed one, in dir,
// and returns the command that checks it.
func wrapConfig(t *testing.T, typ, conf, dir string) *exec.Cmd {
	t.Helper()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	switch typ {
	case "bind9":
		top, opts, ok := strings.Cut(conf, bindOptionsMarker)
		if !ok {
			t.Fatalf("no %q in the BIND configuration", bindOptionsMarker)
		}
		p := write("named.conf", "options {\n\tdirectory \""+dir+"\";\n"+opts+"};\n\n"+top)
		return exec.Command(checker(t, "named-checkconf", "bind9-utils"), p)
	case "knot":
		write("dms.conf", conf)
		p := write("knot.conf", "server:\n  rundir: \""+dir+"\"\n  listen: 127.0.0.1@5353\n\ninclude: dms.conf\n")
		return exec.Command(checker(t, "knotc", "knot"), "-c", p, "conf-check")
	case "nsd":
		p := write("nsd.conf", "server:\n\tzonesdir: \""+dir+"\"\n\tport: 5353\n\n"+conf)
		return exec.Command(checker(t, "nsd-checkconf", "nsd"), p)
	}
	t.Fatalf("no checker for %s", typ)
	return nil
}

// secConfSpoil is, per server type, a statement its checker refuses (it
// names what does not exist): added to a configuration, it shows the
// checker reads that configuration.
var secConfSpoil = map[string]string{
	"bind9": "zone \"spoiled.example\" { type secondary; primaries { \"no-such-list\"; }; };\n",
	"knot":  "zone:\n  - domain: spoiled.example.\n    master: no-such-remote\n",
	"nsd":   "zone:\n\tname: \"spoiled.example.\"\n\tinclude-pattern: \"no-such-pattern\"\n",
}

// TestSecondaryConfigCheckers has named-checkconf, knotc conf-check and
// nsd-checkconf read every printed configuration inside a minimal whole
// one, and proves they read it by spoiling it and seeing them fail.
func TestSecondaryConfigCheckers(t *testing.T) {
	for _, c := range secConfCases() {
		t.Run(c.name, func(t *testing.T) {
			conf, err := SecondaryConfig(c.srv, c.sg, c.key, c.members, SecConfOptions{})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			cmd := wrapConfig(t, c.srv.Type, conf, dir)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s\nconfiguration:\n%s", strings.Join(cmd.Args, " "), err, out, conf)
			}
			bad := t.TempDir()
			spoiled := conf + secConfSpoil[c.srv.Type]
			if c.srv.Type == "bind9" {
				// Before the options part, which wrapConfig moves away.
				spoiled = strings.Replace(conf, bindOptionsMarker, secConfSpoil["bind9"]+bindOptionsMarker, 1)
			}
			cmd = wrapConfig(t, c.srv.Type, spoiled, bad)
			if out, err := cmd.CombinedOutput(); err == nil {
				t.Errorf("%s accepted a spoiled configuration, so it may not be reading ours:\n%s\n%s", strings.Join(cmd.Args, " "), out, spoiled)
			}
		})
	}
}

// TestSecondaryConfigFullCheckers: server config --full is a whole
// configuration file that named-checkconf, knotc conf-check and
// nsd-checkconf accept as it is, with nothing around it; a spoiled copy
// is refused, so the checkers read it.
func TestSecondaryConfigFullCheckers(t *testing.T) {
	for _, c := range secConfCases() {
		t.Run(c.name, func(t *testing.T) {
			conf, err := SecondaryConfig(c.srv, c.sg, c.key, c.members, SecConfOptions{Full: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, text := range []string{conf, conf + secConfSpoil[c.srv.Type]} {
				cmd := checkWhole(t, c.srv.Type, text)
				out, err := cmd.CombinedOutput()
				if text == conf && err != nil {
					t.Fatalf("%s: %v\n%s\nconfiguration:\n%s", strings.Join(cmd.Args, " "), err, out, conf)
				}
				if text != conf && err == nil {
					t.Errorf("%s accepted a spoiled configuration:\n%s", strings.Join(cmd.Args, " "), out)
				}
			}
		})
	}
}

// checkWhole is the checker of a whole configuration file of type typ.
func checkWhole(t *testing.T, typ, conf string) *exec.Cmd {
	t.Helper()
	p := filepath.Join(t.TempDir(), "server.conf")
	if err := os.WriteFile(p, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	switch typ {
	case "bind9":
		return exec.Command(checker(t, "named-checkconf", "bind9-utils"), p)
	case "knot":
		return exec.Command(checker(t, "knotc", "knot"), "-c", p, "conf-check")
	case "nsd":
		return exec.Command(checker(t, "nsd-checkconf", "nsd"), p)
	}
	t.Fatalf("no checker for %s", typ)
	return nil
}

func TestSecondaryConfigBadInput(t *testing.T) {
	srv := zonedb.Server{Name: "ns1", SG: "sg1", Type: "bind9"}
	for _, tc := range []struct {
		name string
		srv  zonedb.Server
		sg   zonedb.SG
		key  *zonedb.TSIGKey
		want []string
	}{
		{"no master address", srv, zonedb.SG{Name: "sg1"}, nil,
			[]string{"server group sg1 has no master address", "dms sg set sg1 --master-address ADDR"}},
		{"unknown type", zonedb.Server{Name: "ns1", SG: "sg1", Type: "powerdns"}, secConfSG, nil,
			[]string{`type "powerdns"`, "bind9, knot, nsd"}},
		{"empty type", zonedb.Server{Name: "ns1", SG: "sg1"}, secConfSG, nil,
			[]string{`type ""`, "bind9, knot, nsd"}},
		{"bad master address", srv, zonedb.SG{Name: "sg1", MasterAddress: []string{"dms.example.net"}}, nil,
			[]string{"master address", `"dms.example.net" is not an address`}},
		{"other SG", srv, zonedb.SG{Name: "sg2", MasterAddress: []string{"192.0.2.1"}}, nil,
			[]string{"server ns1 is in server group sg1, not sg2"}},
		{"bad algorithm", srv, secConfSG, &zonedb.TSIGKey{Name: "k.", Algorithm: "hmac-md5.sig-alg.reg.int.", Secret: "c2VjcmV0"},
			[]string{"hmac-md5.sig-alg.reg.int."}},
		{"key name", srv, secConfSG, &zonedb.TSIGKey{Name: `k"; evil.`, Algorithm: "hmac-sha256.", Secret: "c2VjcmV0"},
			[]string{"TSIG key name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SecondaryConfig(tc.srv, tc.sg, tc.key, nil, SecConfOptions{})
			if err == nil {
				t.Fatalf("accepted; printed:\n%s", got)
			}
			if !errors.Is(err, zonedb.ErrBadInput) {
				t.Errorf("error %v is not bad input", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	// A zone name NSD's configuration cannot carry.
	nsd := zonedb.Server{Name: "ns1", SG: "sg1", Type: "nsd"}
	if _, err := SecondaryConfig(nsd, secConfSG, nil, []string{`a#b.example.`}, SecConfOptions{}); err == nil || !strings.Contains(err.Error(), "a#b.example.") {
		t.Errorf("zone a#b.example.: got %v, want an error naming it", err)
	}
}
