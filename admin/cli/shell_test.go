package cli

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func TestShellTranslate(t *testing.T) {
	for in, want := range map[string]string{
		"create_zone 2001:db8:1:2:3::/52 inc_updates":        "zone create 2001:db8:1:2:3::/52 --inc-updates",
		"create_zone -r nuts@SQUIRREL-NZ my-new.zone.org":    "zone create --ref nuts@SQUIRREL-NZ my-new.zone.org",
		"create_zone omg.blah.net auto_dnssec edit_lock":     "zone create omg.blah.net --dnssec --edit-lock",
		"show_zone 2001:db8:1:2:3::1":                        "zone show 2001:db8:1:2:3::1",
		"show_zonesm omg.blah.net":                           "zone info omg.blah.net",
		"set_zone omg.blah.net no_edit_lock":                 "zone set omg.blah.net --no-edit-lock",
		"ls -r anathoth":                                     "zone ls --ref anathoth",
		"set_config zi_max_num 30":                           "config set zi_max_num 30",
		"poke_zone_set_serial a.example 2026120101":          "zone serial a.example --set 2026120101",
		"poke_zone_set_serial a.example":                     "zone serial a.example --bump",
		"poke_zone_wrap_serial a.example":                    "zone serial --wrap a.example",
		"vacuum_all":                                         "vacuum all",
		"ls_pending_events":                                  "pending",
		"zone show example.org":                              "zone show example.org",
		"set_zone a.example auto_dnssec":                     "dnssec enable a.example",
		"set_zone a.example no_auto_dnssec":                  "dnssec disable a.example",
		"set_config -g ext soa_mname ns1.example.net.":       "sg set ext --soa-mname ns1.example.net.",
		"show_zone a.example 12":                             "zone show a.example --zi 12",
		"edit_apex_ns ext ns1.example.net. ns2.example.net.": "sg set ext --apex-ns ns1.example.net. ns2.example.net.",
		"create_server ns2 192.0.2.2 ext knot":               "server create ns2 192.0.2.2 --sg ext --type knot",
		"create_sg ext /etc/dms 192.0.2.53 2001:db8::53":     "sg create ext --master-address 192.0.2.53 --master-address 2001:db8::53",
		"destroy_zone -f a.example":                          "zone destroy --force a.example",
		"ls -g ext":                                          "zone ls --sg ext",
		"diff_zones a.example b.example":                     "zone diff a.example b.example",
		"enable_zone a.example":                              "zone set --no-disable a.example",
		"disable_zone a.example":                             "zone set --disable a.example",
		"dupe_zone_alt_sg a.example int":                     "zone alt-sg set a.example int",
		"clear_edit_lock a.example":                          "zone unlock a.example",
		"refresh_zone a.example":                             "zone notify a.example",
		"refresh_sg ext":                                     "zone notify --sg ext",
		"refresh_all":                                        "zone notify --all",
		"show_event 42":                                      "event show 42",
		"ls_slave":                                           "server ls",
	} {
		words, err := splitWords(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(translate(words), " "); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
	// Commands without a meaning in dms answer in a line.
	for name, why := range legacyGone {
		if _, ok := legacy[name]; ok || why == "" {
			t.Errorf("%s: both mapped and gone, or no reason", name)
		}
	}
	// Every legacy command names a dms command that exists.
	root := NewRoot(&Factory{})
	for name, args := range legacy {
		var words []string
		for _, a := range args {
			if !strings.HasPrefix(a, "-") {
				words = append(words, a)
			}
		}
		// (Find leaves arguments such as vacuum's "all" in rest.)
		if c, rest, err := root.Find(words); err != nil || c == root || len(rest) > 1 || c.Name() != words[len(words)-1-len(rest)] {
			t.Errorf("%s: dms %v is no command", name, args)
		}
	}
}

func TestShellSplitWords(t *testing.T) {
	for in, want := range map[string][]string{
		`record add example.org "www A 192.0.2.1"`: {"record", "add", "example.org", "www A 192.0.2.1"},
		`a 'b c' d\ e ""`:                          {"a", "b c", "d e", ""},
		"  spaced\tout  ":                          {"spaced", "out"},
	} {
		got, err := splitWords(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%q: %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := splitWords(`bad "quote`); err == nil {
		t.Error("unterminated quote accepted")
	}
}

func TestShellComplete(t *testing.T) {
	zones := []string{"example.org.", "example.net.", "other.test."}
	for _, c := range []struct {
		line, want string
		ok         bool
	}{
		{"show_zones", "show_zonesm ", true},
		{"show_zone", "", false}, // show_zone, show_zonesm, show_zone_sectags: no longer prefix
		{"zo", "zone ", true},
		{"zone sh", "zone show ", true},
		{"zone show exa", "zone show example.", true},
		{"zone show oth", "zone show other.test. ", true},
		{"show_zonesm example.o", "show_zonesm example.org. ", true},
		{"nosuch", "", false},
	} {
		got, pos, ok := complete(c.line, len(c.line), zones)
		if ok != c.ok || ok && (got != c.want || pos != len(got)) {
			t.Errorf("%q: %q %d %v; want %q %v", c.line, got, pos, ok, c.want, c.ok)
		}
	}
}

// TestHistoryKeepsNoSecret: a tsig import line with the secret as an
// argument stays out of the shell's history file; other lines, and the
// --secret-file form, are kept.
func TestHistoryKeepsNoSecret(t *testing.T) {
	h := openHistory(t.TempDir())
	for _, l := range []string{
		"zone show example.org",
		"tsig import k c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0",
		"tsig  import --alg hmac-sha1 k 'c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0'",
		"tsig import k 'unterminated",
		"tsig import k --secret-file /etc/k.key",
	} {
		h.Add(l)
	}
	b, err := os.ReadFile(h.file)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "zone show example.org\ntsig import k --secret-file /etc/k.key\n"; got != want {
		t.Errorf("history file:\n%s\nwant:\n%s", got, want)
	}
}
