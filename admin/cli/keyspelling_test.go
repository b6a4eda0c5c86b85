package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTSIGShowWithServerConfig: a configuration put together from what
// dms tsig show prints (the key statement, in the server's syntax) and
// what dms server config prints (the statements that use the key) is one
// the server accepts: both spell the key alike, however it was typed at
// create ("Xfr-knot." here), and so do tsig ls, server show, view show,
// the events and the errors. The store has a view, so server config also
// prints its note on views, which must be a comment of the server's own
// syntax (Knot and NSD know no "//"). Each configuration is checked by
// named-checkconf, knotc conf-check or nsd-checkconf: the whole file
// (--full, the key included from the file tsig show's statement went
// into) and the default part inside a minimal file around it, the key
// given by tsig show.
func TestTSIGShowWithServerConfig(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	must := func(args ...string) string {
		t.Helper()
		r := run(t, db, "", args...)
		if r.code != 0 {
			t.Fatalf("dms %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.out, r.err)
		}
		return r.out + r.err
	}
	must("sg", "create", "external", "--master-address", "192.0.2.53")
	must("zone", "load", "--sg", "external", writeFile(t, dir, "db.example.org", goodZone))
	must("tsig", "create", "Int-Xfr.")
	must("view", "create", "internal", "--match", "key:int-xfr.", "--match", "10.0.0.0/8")
	if out := must("view", "show", "internal"); !strings.Contains(out, "key:int-xfr 10.0.0.0/8") {
		t.Errorf("view show does not spell the key int-xfr:\n%s", out)
	}
	if out := must("events"); !strings.Contains(out, "match key:int-xfr 10.0.0.0/8") || !strings.Contains(out, "TSIG key int-xfr (hmac-sha256) added") {
		t.Errorf("events do not spell the key int-xfr:\n%s", out)
	}
	for i, typ := range []string{"bind9", "knot", "nsd"} {
		key, srv := "xfr-"+typ, "ns-"+typ
		typed := []string{key, key + ".", "Xfr-" + typ + "."}[i] // as the admin may type it
		must("tsig", "create", typed)
		must("server", "create", srv, "192.0.2."+string(rune('2'+i)), "--sg", "external", "--type", typ, "--tsig", typed)
		var show struct{ Name, BIND, Knot, NSD string }
		if err := json.Unmarshal([]byte(must("-o", "json", "tsig", "show", typed)), &show); err != nil {
			t.Fatal(err)
		}
		stmt := map[string]string{"bind9": show.BIND, "knot": show.Knot, "nsd": show.NSD}[typ]
		if show.Name != key || stmt == "" {
			t.Fatalf("tsig show -o json: name %q (want %s), %s statement %q", show.Name, key, typ, stmt)
		}
		for _, args := range [][]string{{"tsig", "show", typed}, {"tsig", "ls"}, {"server", "show", srv}, {"server", "config", srv}, {"server", "config", "--full", srv}, {"-o", "json", "server", "config", srv}} {
			if out := must(args...); !strings.Contains(out, key) || strings.Contains(out, key+".") {
				t.Errorf("dms %s: not spelled %s:\n%s", strings.Join(args, " "), key, out)
			}
		}
		if r := run(t, db, "", "tsig", "delete", typed); r.code == 0 || !strings.Contains(r.err, "uses "+key+";") {
			t.Errorf("tsig delete of a key in use: exit %d, %s", r.code, r.err)
		}

		// The whole file, with the key from tsig show's statement.
		keyFile := writeFile(t, dir, key+".key", stmt)
		full := must("server", "config", "--full", "--key-file", keyFile, srv)
		if strings.Contains(full, "secret") || !strings.Contains(full, "from view default") {
			t.Errorf("server config --full --key-file %s: a secret, or no note on views:\n%s", keyFile, full)
		}
		checkConfig(t, typ, writeFile(t, dir, srv+"-full.conf", full))

		// The part to add to an existing configuration, and tsig show's
		// key statement instead of the one server config defines: one
		// key, defined once, referred to by the same name.
		part := must("server", "config", srv)
		part = dropKeyStatement(t, typ, part)
		checkConfig(t, typ, aroundPart(t, typ, dir, srv, stmt+"\n"+part))
	}
}

// dropKeyStatement removes the key statement from a configuration part
// server config printed (tsig show's takes its place).
func dropKeyStatement(t *testing.T, typ, conf string) string {
	t.Helper()
	start := map[string]string{"bind9": "\nkey \"", "knot": "\nkey:\n", "nsd": "\nkey:\n"}[typ]
	i := strings.Index(conf, start)
	if i < 0 {
		t.Fatalf("no key statement in:\n%s", conf)
	}
	j := strings.Index(conf[i+1:], "\n\n")
	if j < 0 {
		t.Fatalf("key statement does not end in:\n%s", conf)
	}
	return conf[:i+1] + conf[i+1+j+2:]
}

// aroundPart writes the smallest whole configuration around a part
// server config printed (and a key statement) and returns its file:
// BIND's options part goes inside options, Knot and NSD get a server
// section.
func aroundPart(t *testing.T, typ, dir, srv, part string) string {
	t.Helper()
	work := filepath.Join(dir, srv+"-work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	var text string
	switch typ {
	case "bind9":
		const marker = "// ---- inside options"
		i := strings.Index(part, marker)
		if i < 0 {
			t.Fatalf("no %q in:\n%s", marker, part)
		}
		top, opts := part[:i], part[i:]
		text = "options {\n\tdirectory \"" + work + "\";\n" + opts + "};\n\n" + top
	case "knot":
		text = "server:\n    rundir: \"" + work + "\"\n    listen: 127.0.0.1@5353\n\n" + part
	case "nsd":
		text = "server:\n\tzonesdir: \"" + work + "\"\n\tport: 5353\n\n" + part
	}
	return writeFile(t, dir, srv+"-part.conf", text)
}
