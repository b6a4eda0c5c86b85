package cli_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// oldMaster writes a BIND master's configuration the way real ones look:
// three comment styles, an include with the key, an acl, a primaries list
// used by also-notify, options with a directory, zones of several types.
func oldMaster(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	zones := filepath.Join(dir, "zones")
	os.MkdirAll(zones, 0o755)
	writeFile(t, dir, "named.conf", fmt.Sprintf(`// named.conf of the old master
/* a C-style
   comment over lines */
# and a shell-style one
include "%[1]s/keys.conf";

acl "secondaries" { 192.0.2.2; 192.0.2.3; };

primaries notify-list { 192.0.2.2 key "xfr-key"; 192.0.2.3 port 5353 key xfr-key; };

options {
	directory "%[1]s/zones";
	listen-on port 53 { any; };
	recursion no;
	allow-transfer { key xfr-key; 10.1.0.0/16; };
	also-notify { notify-list; };
};

logging { channel default_log { file "named.log"; }; };

zone "example.com" IN {
	type master;
	file "db.example.com";
};
zone "example.net" {
	type primary;
	file "db.example.net";   // the same secondaries
};
zone "2.0.192.in-addr.arpa" {
	type master;
	file "db.192.0.2";
	allow-transfer { secondaries; };
};
zone "other.example" { type slave; masters { 198.51.100.1; }; file "other.db"; };
zone "fwd.example" { type forward; forwarders { 198.51.100.9; }; };
zone "." { type hint; file "root.hints"; };
`, dir))
	writeFile(t, dir, "keys.conf", `key "xfr-key" {
	algorithm hmac-sha256;
	secret "aW50ZXJvcC10ZXN0LWtleS1vZi0zMi1ieXRlcyEhISE=";
};
`)
	for _, z := range []string{"example.com", "example.net"} {
		writeFile(t, zones, "db."+z, fmt.Sprintf("$TTL 3600\n@ SOA ns1.%[1]s. hostmaster.%[1]s. 2026010101 3600 600 86400 300\n@ NS ns1.example.net.\n@ NS ns2.example.net.\nwww A 192.0.2.80 ; the web server\n", z))
	}
	writeFile(t, zones, "db.192.0.2", "$TTL 3600\n@ SOA ns1.example.net. hostmaster.example.net. 7 3600 600 86400 300\n@ NS ns1.example.net.\n80 PTR www.example.com.\n")
	return filepath.Join(dir, "named.conf")
}

// TestImportBind: dms import bind brings a BIND master in: the dry run
// shows the plan and writes nothing; the import makes the zones with
// their serials, the key, one server group with the secondaries, the
// xfr_allow prefix; a second import is refused whole; zone file errors
// are all reported with file and line and nothing is imported.
func TestImportBind(t *testing.T) {
	conf := oldMaster(t)
	db := filepath.Join(t.TempDir(), "dms.db")
	dry := run(t, db, "", "import", "bind", conf, "--dry-run", "--master-address", "192.0.2.53")
	if dry.code != 0 {
		t.Fatalf("dry run: %d %s %s", dry.code, dry.out, dry.err)
	}
	for _, want := range []string{
		"example.com.", "example.net.", "2.0.192.in-addr.arpa.", "tsig key xfr-key. (hmac-sha256)",
		"server group imported: 192.0.2.2 192.0.2.2:53 key xfr-key.; 192.0.2.3 192.0.2.3:5353 key xfr-key.",
		"xfr_allow += 10.1.0.0/16",
		"skipped: zone other.example.", "a secondary zone", "skipped: zone fwd.example.", "skipped: zone . ", "skipped: option recursion",
		"skipped: logging",
		"dry run, nothing written: would import 3 zone(s) (0 signed with BIND's keys), 1 TSIG key(s), 1 server group(s), 2 server(s)",
	} {
		if !strings.Contains(dry.out, want) {
			t.Errorf("dry run: no %q in\n%s", want, dry.out)
		}
	}
	if r := run(t, db, "", "zone", "ls"); strings.TrimSpace(r.out) != "" {
		t.Errorf("zones after a dry run: %q", r.out)
	}
	r := run(t, db, "", "import", "bind", conf, "--master-address", "192.0.2.53")
	if r.code != 0 || !strings.Contains(r.out, "imported 3 zone(s)") {
		t.Fatalf("import: %d %s %s", r.code, r.out, r.err)
	}
	ls := run(t, db, "", "zone", "ls", "-l").out
	for _, want := range []string{"example.com.  ", "2026010101", "2.0.192.in-addr.arpa.", "imported.catalog.invalid."} {
		if !strings.Contains(ls, want) {
			t.Errorf("zone ls: no %q in\n%s", want, ls)
		}
	}
	if out := run(t, db, "", "zone", "show", "example.com").out; !strings.Contains(out, "192.0.2.80") || !strings.Contains(out, "2026010101") {
		t.Errorf("zone show example.com:\n%s", out)
	}
	if out := run(t, db, "", "server", "ls").out; !strings.Contains(out, "192.0.2.3:5353") || strings.Count(out, "xfr-key ") != 2 {
		t.Errorf("server ls:\n%s", out)
	}
	if out := run(t, db, "", "config", "show").out; !strings.Contains(out, "10.1.0.0/16") {
		t.Errorf("xfr_allow not set:\n%s", out)
	}
	if out := run(t, db, "", "sg", "show", "imported").out; !strings.Contains(out, "192.0.2.53") {
		t.Errorf("sg show:\n%s", out)
	}
	again := run(t, db, "", "import", "bind", conf)
	if again.code == 0 || !strings.Contains(again.err, "already exists") {
		t.Errorf("a second import: %d %s", again.code, again.err)
	}

	// Broken zone files: each problem with its file and line, nothing in.
	dir := filepath.Dir(conf)
	f, _ := os.OpenFile(filepath.Join(dir, "zones", "db.example.net"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("bad A 192.0.2.300\n")
	f.Close()
	f, _ = os.OpenFile(filepath.Join(dir, "zones", "db.192.0.2"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("81 PTR\n")
	f.Close()
	fresh := filepath.Join(t.TempDir(), "dms.db")
	bad := run(t, fresh, "", "import", "bind", conf)
	if bad.code == 0 || !strings.Contains(bad.err, "2 zone file problem(s)") || !strings.Contains(bad.err, "db.example.net:6:") || !strings.Contains(bad.err, "db.192.0.2:5:") {
		t.Errorf("broken zone files: %d\n%s", bad.code, bad.err)
	}
	if r := run(t, fresh, "", "zone", "ls"); strings.TrimSpace(r.out) != "" {
		t.Errorf("zones after a failed import: %q", r.out)
	}
	// A configuration that does not read: where, and what.
	for text, want := range map[string]string{
		"options { directory \"/tmp\" }\nzone \"x\" { type master; file \"x\"; };\n": "broken.conf:1: a ; missing before }",
		"zone \"x\" {\n type master;\n file \"x\";\n":                                "a { without its }",
		"/* never closed\nzone \"x\" { };\n":                                         "broken.conf:1: a /* comment that does not end",
		"zone \"x\" { type master; file \"no-such-file\"; };\n":                      "broken.conf:1: zone x.: open",
		"include \"nowhere.conf\";\n":                                                "broken.conf:1: include \"nowhere.conf\"",
	} {
		writeFile(t, dir, "broken.conf", text)
		if r := run(t, fresh, "", "import", "bind", filepath.Join(dir, "broken.conf")); r.code == 0 || !strings.Contains(r.err, want) {
			t.Errorf("broken named.conf %q: %d %s, want %q", text, r.code, r.err, want)
		}
	}
}

// TestInteropImportBINDSigned: a zone signed by a real named with
// dnssec-policy validates in unbound with its DS; imported into dms (its
// keys from key-directory), dms signs it with the same keys: the DS is
// the same and unbound, with the same trust anchor, validates dms's
// answers (positive and NXDOMAIN).
func TestInteropImportBINDSigned(t *testing.T) {
	t.Parallel()
	named := tool(t, "named", "bind9")
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "keys"), 0o755)
	port := freeDNSPort(t)
	writeFile(t, dir, "named.conf", fmt.Sprintf(`options {
	directory "%[1]s";
	key-directory "keys";
	pid-file "%[1]s/named.pid";
	listen-on port %[2]d { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion no;
	notify no;
	dnssec-validation no;
};
controls { };
dnssec-policy "csk13" {
	keys { csk lifetime unlimited algorithm ecdsap256sha256; };
	nsec3param iterations 0 optout no salt-length 0;
};
zone "signed.example" {
	type primary;
	file "db.signed.example";
	dnssec-policy "csk13";
	inline-signing yes;
};
`, dir, port))
	writeFile(t, dir, "db.signed.example", "$TTL 300\n@ SOA ns1.signed.example. h.signed.example. 5 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.80\n")
	startDaemon(t, "named", named, "-g", "-c", filepath.Join(dir, "named.conf"))
	at := fmt.Sprintf("127.0.0.1:%d", port)
	var sep *dns.DNSKEY
	waitFor(t, "named serving signed.example signed", 30*time.Second, func() bool {
		m := new(dns.Msg)
		m.SetQuestion("signed.example.", dns.TypeDNSKEY)
		m.SetEdns0(1232, true)
		r, _, err := (&dns.Client{Timeout: time.Second}).Exchange(m, at)
		if err != nil {
			return false
		}
		for _, rr := range r.Answer {
			if k, ok := rr.(*dns.DNSKEY); ok && k.Flags&dns.SEP != 0 {
				sep = k
			}
		}
		return sep != nil && len(r.Answer) >= 2
	})
	ds := sep.ToDS(dns.SHA256)
	anchor := strings.Join(strings.Fields(ds.String()), " ")
	before := startUnboundFor(t, "signed.example", at, anchor)
	waitFor(t, "unbound validating named's answer", 20*time.Second, func() bool {
		r := validate(t, before, "www.signed.example.", dns.TypeA)
		return r.Rcode == dns.RcodeSuccess && r.AuthenticatedData
	})

	db := filepath.Join(t.TempDir(), "dms.db")
	r := run(t, db, "", "import", "bind", filepath.Join(dir, "named.conf"))
	if r.code != 0 || !strings.Contains(r.out, "1 signed with BIND's keys") {
		t.Fatalf("import: %d %s %s", r.code, r.out, r.err)
	}
	out := run(t, db, "", "dnssec", "ds", "signed.example").out
	if !strings.Contains(strings.Join(strings.Fields(out), " "), strings.Join(strings.Fields(ds.String())[3:], " ")) {
		t.Errorf("dms's DS differs from BIND's:\n%s\nwant %s", out, ds)
	}
	srv := startServe(t, db)
	after := startUnboundFor(t, "signed.example", srv.dns, anchor)
	for _, q := range []struct {
		name  string
		qtype uint16
		rcode int
	}{{"www.signed.example.", dns.TypeA, dns.RcodeSuccess}, {"nope.signed.example.", dns.TypeA, dns.RcodeNameError}, {"signed.example.", dns.TypeSOA, dns.RcodeSuccess}} {
		r := validate(t, after, q.name, q.qtype)
		if r.Rcode != q.rcode || !r.AuthenticatedData {
			t.Errorf("%s %s from dms through unbound: %s, AD %v", q.name, dns.TypeToString[q.qtype], dns.RcodeToString[r.Rcode], r.AuthenticatedData)
		}
	}
}

// TestImportBindViews: named's views become dms views, in order, with
// their match-clients as rules; each view's zones and secondaries land in
// it (one secondary of both views is two servers with two keys).
func TestImportBindViews(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "named.conf", fmt.Sprintf(`options { directory "%s"; };
key "int-key" { algorithm hmac-sha256; secret "aW50ZXJuYWwta2V5LW9mLTMyLWJ5dGVzLWxvbmchISE="; };
key "ext-key" { algorithm hmac-sha256; secret "ZXh0ZXJuYWwta2V5LW9mLTMyLWJ5dGVzLWxvbmchISE="; };
acl inside { 10.0.0.0/8; 172.16.0.0/12; };
view "internal" {
	match-clients { key int-key; !10.9.0.0/16; inside; };
	also-notify { 192.0.2.2 key int-key; };
	zone "example.com" { type master; file "db.example.com.int"; };
};
view "external" {
	match-clients { any; };
	also-notify { 192.0.2.2 key ext-key; };
	zone "example.com" { type master; file "db.example.com"; };
};
`, dir))
	writeFile(t, dir, "db.example.com", "$TTL 300\n@ SOA ns1.example.com. h.example.com. 3 3600 600 86400 300\n@ NS ns1.example.net.\nwww A 192.0.2.80\n")
	writeFile(t, dir, "db.example.com.int", "$TTL 300\n@ SOA ns1.example.com. h.example.com. 9 3600 600 86400 300\n@ NS ns1.example.net.\nwww A 10.0.0.80\n")
	db := filepath.Join(t.TempDir(), "dms.db")
	r := run(t, db, "", "import", "bind", filepath.Join(dir, "named.conf"))
	if r.code != 0 || !strings.Contains(r.out, "imported 2 view(s), 2 zone(s)") {
		t.Fatalf("import: %d %s %s", r.code, r.out, r.err)
	}
	ls := run(t, db, "", "view", "ls").out
	for _, want := range []string{"internal  1      imported    key:int-key !10.9.0.0/16 10.0.0.0/8 172.16.0.0/12", "external  1      imported-2  any"} {
		if !strings.Contains(ls, want) {
			t.Errorf("view ls: no %q in\n%s", want, ls)
		}
	}
	if out := run(t, db, "", "--view", "internal", "zone", "show", "example.com").out; !strings.Contains(out, "10.0.0.80") {
		t.Errorf("internal example.com:\n%s", out)
	}
	if out := run(t, db, "", "--view", "external", "zone", "show", "example.com").out; !strings.Contains(out, "192.0.2.80") {
		t.Errorf("external example.com:\n%s", out)
	}
	if out := run(t, db, "", "server", "ls").out; !strings.Contains(out, "int-key ") || !strings.Contains(out, "ext-key ") || strings.Count(out, "192.0.2.2:53") != 2 {
		t.Errorf("server ls:\n%s", out)
	}
}
