package cli_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"dmsdns.org/dms/admin"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/cli")

// dmsBin is the dms binary the tests run, built once in TestMain.
var dmsBin string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "dms-cli-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	dmsBin = filepath.Join(dir, "dms")
	// Abandoned edits are kept under the state directory: the tests'
	// own, never the home of whoever runs them.
	os.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	build := exec.Command("go", "build", "-o", dmsBin, "../../cmd/dms")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building dms:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	out, err string
	code     int
}

// run runs the dms binary on store db with args.
func run(t *testing.T, db, stdin string, args ...string) result {
	t.Helper()
	return runEnv(t, db, stdin, nil, args...)
}

// runEnv is run with extra environment variables.
func runEnv(t *testing.T, db, stdin string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, dmsBin, append([]string{"--db", db}, args...)...)
	cmd.Env = append(append(os.Environ(), "DMS_DB=", "EDITOR=false", "VISUAL="), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("dms %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

var (
	reDateTime = regexp.MustCompile(`\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d( UTC|Z)?`)
	reUser     = regexp.MustCompile(`[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+/Admin`)
	reTmp      = regexp.MustCompile(`/tmp/[^ :\n]*/`)
)

// normalize replaces what changes from run to run: times, today's serials,
// the user and host, temporary paths.
func normalize(s string) string {
	today := time.Now().UTC().Format("20060102")
	s = reDateTime.ReplaceAllString(s, "TIME")
	s = strings.ReplaceAll(s, today, "YYYYMMDD")
	s = reUser.ReplaceAllString(s, "USER@HOST/Admin")
	s = reTmp.ReplaceAllString(s, "TMP/")
	return s
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("..", "..", "testdata", "cli", name+".golden")
	got = normalize(got)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./admin/cli -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s:\n--- got\n%s\n--- want\n%s", name, path, got, want)
	}
}

// syncBuffer is a bytes.Buffer safe for a process's writes and our reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var reDNSAddr = regexp.MustCompile(`msg=serving .*dns=("[^"]+"|\S+) metrics=(\S+)`)

// server is a running dms serve.
type server struct {
	cmd *exec.Cmd
	log *syncBuffer
	// dns and metrics are the addresses it answers DNS and /metrics on;
	// all are every DNS address.
	dns, metrics string
	all          []string
}

// startServe runs dms serve on db (DNS on a free port of 127.0.0.1) and
// waits for its control socket and DNS listener.
func startServe(t *testing.T, db string, args ...string) *server {
	t.Helper()
	if len(args) == 0 {
		args = []string{"--listen", "127.0.0.1:0", "--workers", "2", "--metrics-listen", "127.0.0.1:0"}
	}
	cmd := exec.Command(dmsBin, append([]string{"--db", db, "serve"}, args...)...)
	errb := new(syncBuffer)
	cmd.Stderr = errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Errorf("dms serve did not stop on SIGINT; log:\n%s", errb.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := reDNSAddr.FindStringSubmatch(errb.String()); m != nil {
			if c, err := admin.DialControl(admin.SocketPath(db)); err == nil {
				c.Close()
				addrs := strings.Fields(strings.Trim(m[1], `"`))
				return &server{cmd: cmd, log: errb, dns: addrs[0], all: addrs, metrics: m[2]}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("dms serve did not start; log:\n%s", errb.String())
	return nil
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const exampleZone = `$TTL 3600
;!REF:Cust42@ISP-NET
@       IN SOA  ns1.example.net. hostmaster.example.org. 2026010100 600 600 604800 600
        IN NS   ns1.example.net.
        IN NS   ns2.example.net.
        IN MX   10 mail
www     IN A    192.0.2.1
;!LOCKPTR TRACKREV
        IN AAAA 2001:db8::1
mail    IN A    192.0.2.25
`

// step is one command of a scenario, with its golden output.
type step struct {
	name  string
	args  []string
	stdin string
	code  int
}

// scenario is the tour of the CLI that runs twice: on the store directly,
// and through a running dms serve. Both must give the same golden output.
func scenario(dir string) []step {
	return []step{
		{name: "config-set-mname", args: []string{"config", "set", "soa_mname", "ns1.example.net"}},
		{name: "config-set-rname", args: []string{"config", "set", "soa_rname", "hostmaster.example.net."}},
		{name: "config-set-apex-ns", args: []string{"config", "set", "apex_ns", "ns1.example.net.,ns2.example.net."}},
		{name: "config-set-bad-key", args: []string{"config", "set", "soa_mnam", "x"}, code: 2},
		{name: "config-set-bad-value", args: []string{"config", "set", "zi_max_num", "lots"}, code: 1},
		{name: "config-show", args: []string{"config", "show"}},
		{name: "zone-create", args: []string{"zone", "create", "Example.NET", "--ref", "Cust42@ISP-NET", "--inc-updates"}},
		{name: "zone-create-again", args: []string{"zone", "create", "example.net."}, code: 1},
		{name: "zone-load", args: []string{"zone", "load", filepath.Join(dir, "example.org")}},
		{name: "zone-show", args: []string{"zone", "show", "EXAMPLE.ORG."}},
		{name: "zone-ls", args: []string{"zone", "ls", "-l"}},
		{name: "zone-ls-ref", args: []string{"zone", "ls", "--ref", "cust42@isp-net"}},
		{name: "record-add", args: []string{"record", "add", "example.org", "ftp 300 IN CNAME www", "www AAAA 2001:db8::2", "@ MX 20 mx2.example.net."}},
		{name: "record-delete-rrset", args: []string{"record", "delete", "example.org", "www AAAA"}},
		{name: "record-delete-missing", args: []string{"record", "delete", "example.org", "www A 192.0.2.99"}, code: 1},
		{name: "record-add-cname-clash", args: []string{"record", "add", "example.org", "www CNAME mail"}, code: 1},
		{name: "zone-history", args: []string{"zone", "history", "example.org"}},
		{name: "zone-diff", args: []string{"zone", "diff", "example.org", "2", "3"}},
		{name: "zone-rollback", args: []string{"zone", "rollback", "example.org", "2"}},
		{name: "zone-show-after-rollback", args: []string{"zone", "show", "example.org"}},
		{name: "zone-serial-set-back", args: []string{"zone", "serial", "example.org", "--set", "5"}, code: 1},
		{name: "zone-serial-set", args: []string{"zone", "serial", "example.org", "--set", "3000000000"}},
		{name: "zone-serial-wrap", args: []string{"zone", "serial", "example.org", "--wrap"}},
		{name: "zone-set", args: []string{"zone", "set", "example.org", "--edit-lock", "--no-inc-updates"}},
		{name: "zone-info-json", args: []string{"zone", "info", "example.org", "-o", "json"}},
		{name: "ref-ls", args: []string{"ref", "ls"}},
		{name: "ref-delete-in-use", args: []string{"ref", "delete", "CUST42@isp-net"}, code: 1},
		{name: "sg-create", args: []string{"sg", "create", "external", "--apex-ns", "ns1.example.net", "--apex-ns", "ns3.example.net", "--master-address", "192.0.2.53", "--soa-mname", "ns1.example.net"}},
		{name: "sg-create-bad", args: []string{"sg", "create", "bad name"}, code: 1},
		{name: "sg-create-internal", args: []string{"sg", "create", "internal", "--catalog-zone", "cat.internal", "--master-address", "[2001:db8::53]:5300"}},
		{name: "tsig-import", args: []string{"tsig", "import", "xfr-ns2", "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}},
		{name: "tsig-import-bad", args: []string{"tsig", "import", "xfr-ns3", "not-base64!"}, code: 1},
		{name: "tsig-ls", args: []string{"tsig", "ls"}},
		{name: "server-create", args: []string{"server", "create", "ns2", "192.0.2.2", "--sg", "external", "--type", "bind9", "--tsig", "xfr-ns2"}},
		{name: "server-create-knot", args: []string{"server", "create", "ns3", "[2001:db8::3]:5353", "--sg", "internal", "--type", "knot"}},
		{name: "server-create-bad-address", args: []string{"server", "create", "ns4", "192.0.2.300", "--sg", "external"}, code: 1},
		{name: "server-create-no-sg", args: []string{"server", "create", "ns4", "192.0.2.4"}, code: 1},
		{name: "server-create-missing-key", args: []string{"server", "create", "ns4", "192.0.2.4", "--sg", "external", "--tsig", "nokey"}, code: 1},
		{name: "server-ls", args: []string{"server", "ls"}},
		{name: "zone-set-sg", args: []string{"zone", "set-sg", "example.org", "external"}},
		{name: "zone-alt-sg-set", args: []string{"zone", "alt-sg", "set", "example.org", "internal"}},
		{name: "zone-alt-sg-swap", args: []string{"zone", "alt-sg", "swap", "example.org"}},
		{name: "zone-alt-sg-swap-back", args: []string{"zone", "alt-sg", "swap", "example.org"}},
		{name: "zone-alt-sg-clear", args: []string{"zone", "alt-sg", "clear", "example.org"}},
		{name: "zone-alt-sg-clear-again", args: []string{"zone", "alt-sg", "clear", "example.org"}, code: 1},
		{name: "sg-ls", args: []string{"sg", "ls"}},
		{name: "sg-show", args: []string{"sg", "show", "external"}},
		{name: "server-config", args: []string{"server", "config", "ns2"}},
		{name: "server-config-knot", args: []string{"server", "config", "ns3"}},
		{name: "server-disable", args: []string{"server", "disable", "ns2"}},
		{name: "server-disable-again", args: []string{"server", "disable", "ns2"}, code: 1},
		{name: "server-show", args: []string{"server", "show", "ns2"}},
		{name: "tsig-delete-in-use", args: []string{"tsig", "delete", "xfr-ns2"}, code: 1},
		{name: "sg-delete-in-use", args: []string{"sg", "delete", "external"}, code: 1},
		{name: "sg-set-apex-ns", args: []string{"sg", "set", "external", "--apex-ns", "ns1.example.net ns2.example.net"}},
		{name: "zone-show-apex-from-sg", args: []string{"zone", "show", "example.org"}},
		{name: "zone-catalog-edit", args: []string{"record", "add", "cat.internal", "x.zones PTR example.com."}, code: 1},
		{name: "server-enable", args: []string{"server", "enable", "ns2"}},
		{name: "server-rename", args: []string{"server", "rename", "ns3", "ns3-old"}},
		{name: "server-rename-taken", args: []string{"server", "rename", "ns3-old", "ns2"}, code: 1},
		{name: "server-move", args: []string{"server", "move", "ns3-old", "external"}},
		{name: "server-set-address", args: []string{"server", "set-address", "ns3-old", "192.0.2.33:5353"}},
		{name: "server-set-no-key", args: []string{"server", "set", "ns2", "--tsig", ""}},
		{name: "tsig-show", args: []string{"tsig", "show", "xfr-ns2"}},
		{name: "tsig-delete", args: []string{"tsig", "delete", "xfr-ns2"}},
		{name: "server-delete", args: []string{"server", "delete", "ns3-old"}},
		{name: "sg-delete", args: []string{"sg", "delete", "internal"}},
		{name: "server-ls-after", args: []string{"server", "ls"}},
		{name: "sg-ls-after", args: []string{"sg", "ls"}},
		{name: "zone-create-network", args: []string{"zone", "create", "192.0.2.0/24"}},
		{name: "zone-create-network-unaligned", args: []string{"zone", "create", "192.0.2.0/26"}, code: 1},
		{name: "zone-info-by-address", args: []string{"zone", "info", "192.0.2.77"}},
		{name: "sectag-create", args: []string{"sectag", "create", "RESELLER-A"}},
		{name: "sectag-create-again", args: []string{"sectag", "create", "reseller-a"}, code: 1},
		{name: "zone-sectag-add", args: []string{"zone", "sectag", "add", "example.org", "reseller-a"}},
		{name: "zone-sectag-add-missing", args: []string{"zone", "sectag", "add", "example.org", "NOPE"}, code: 1},
		{name: "sectag-ls", args: []string{"sectag", "ls"}},
		{name: "sectag-delete-in-use", args: []string{"sectag", "delete", "RESELLER-A"}, code: 1},
		{name: "zone-sectag-delete", args: []string{"zone", "sectag", "delete", "example.org", "RESELLER-A"}},
		{name: "zone-sectag-ls", args: []string{"zone", "sectag", "ls", "example.org"}},
		{name: "sectag-delete", args: []string{"sectag", "delete", "RESELLER-A"}},
		{name: "sectag-delete-admin", args: []string{"sectag", "delete", "Admin"}, code: 1},
		{name: "events", args: []string{"events", "-n", "3"}},
		{name: "events-zone", args: []string{"events", "--zone", "example.org", "-n", "2"}},
		{name: "events-failed", args: []string{"events", "--failed"}},
		{name: "event-show", args: []string{"event", "show", "2"}},
		{name: "event-show-missing", args: []string{"event", "show", "9999"}, code: 1},
		{name: "event-show-bad", args: []string{"event", "show", "two"}, code: 2},
		{name: "vacuum-dry-run", args: []string{"vacuum", "--dry-run"}},
		{name: "vacuum-bad", args: []string{"vacuum", "everything"}, code: 2},
		{name: "vacuum-events", args: []string{"vacuum", "events"}},
		{name: "zone-delete", args: []string{"zone", "delete", "example.net"}},
		{name: "zone-ls-deleted", args: []string{"zone", "ls", "--deleted"}},
		{name: "zone-destroy-unconfirmed", args: []string{"zone", "destroy", "example.net"}, stdin: "no\n", code: 1},
		{name: "zone-destroy", args: []string{"zone", "destroy", "example.net"}, stdin: "example.net\n"},
		{name: "zone-info-missing", args: []string{"zone", "info", "example.net"}, code: 1},
	}
}

func runScenario(t *testing.T, dir, db string) {
	writeFile(t, dir, "example.org", exampleZone)
	for _, s := range scenario(dir) {
		r := run(t, db, s.stdin, s.args...)
		if r.code != s.code {
			t.Errorf("%s: dms %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", s.name, strings.Join(s.args, " "), r.code, s.code, r.out, r.err)
		}
		golden(t, "scenario-"+s.name, "$ dms "+strings.Join(s.args, " ")+"\n"+r.out+"--- stderr\n"+r.err)
	}
}

func TestScenarioDirect(t *testing.T) {
	dir := t.TempDir()
	runScenario(t, dir, filepath.Join(dir, "dms.db"))
}

func TestScenarioThroughServer(t *testing.T) {
	if *update {
		t.Skip("goldens are written by TestScenarioDirect")
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	startServe(t, db)
	runScenario(t, dir, db)
}
