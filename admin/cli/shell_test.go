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
		"show_zonesm -v a.example":                           "zone info a.example",
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

// referenceCommands are zone_tool's commands as the reference documents
// and the old system's command list name them.
var referenceCommands = strings.Fields(`add_zone_sectag clear_edit_lock copy_zi copy_zone create_reference
create_sectag create_server create_sg create_zone delete_reference delete_sectag delete_server delete_sg
delete_zi delete_zone delete_zone_alt_sg delete_zone_sectag destroy_zone diff_zones disable_server
disable_zone dupe_zone_alt_sg edit_apex_ns edit_zone enable_server enable_zone fail_event hold_sg
list_pending_events list_zone load_zone load_zone_zi load_zones ls ls_deleted ls_events ls_failed_events
ls_pending_events ls_reference ls_server ls_sg ls_slave ls_zi lsref move_server_sg nuke_zones
poke_zone_set_serial poke_zone_wrap_serial reconfig_all reconfig_master reconfig_replica_sg reconfig_sg
record_query_db refresh_all refresh_sg refresh_zone refresh_zone_ttl rename_reference rename_server
rename_sg replace_zone_sectags reset_master reset_server reset_zonesm restore_named_db rollback_zone
rr_query_db rsync_admin_config rsync_server_admin_config set_config set_server_address
set_server_ssh_address set_server_type set_sg_alt_master_address set_sg_config set_sg_master_address
set_sg_replica_sg set_zone set_zone_alt_sg set_zone_reference set_zone_sg show_apex_ns show_config
show_dms_status show_event show_master_sg show_master_status show_replica_sg show_sectags show_server
show_server_byaddr show_sg show_zone show_zone_sectags show_zonesm show_zi swap_zone_sg
tsig_key_generate undelete_zone unlock_zone update_rrs vacuum_all vacuum_event_queue
vacuum_pare_deleted_zone_zis vacuum_syslog vacuum_zis vacuum_zone vacuum_zones write_rndc_conf`)

// TestShellKnowsReferenceCommands: every zone_tool command of the
// reference list is a dms command in the shell or answers in one line what
// replaces it; none is unknown.
func TestShellKnowsReferenceCommands(t *testing.T) {
	root := NewRoot(&Factory{})
	for _, name := range referenceCommands {
		if _, ok := legacyGone[name]; ok {
			continue
		}
		args := translate([]string{name, "x", "1", "y"})
		if args[0] == name {
			t.Errorf("%s: unknown to the shell", name)
			continue
		}
		var words []string
		for _, a := range args {
			if strings.HasPrefix(a, "-") {
				break
			}
			words = append(words, a)
		}
		if c, _, err := root.Find(words); err != nil || c == root {
			t.Errorf("%s: dms %v is no command", name, args)
		}
	}
}
