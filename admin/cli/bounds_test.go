package cli_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// generateBomb is a zone text of 30 $GENERATE lines of range 1-65535,
// each under any per-line cap, making about 2 000 000 records.
func generateBomb(zone string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "$TTL 3600\n@ SOA ns1.%s hostmaster.%s 1 600 600 604800 300\n@ NS ns1.%s\nns1 A 192.0.2.1\n", zone, zone, zone)
	for i := range 30 {
		fmt.Fprintf(&b, "$GENERATE 1-65535 h%d-$ A 192.0.2.1\n", i)
	}
	return b.String()
}

// rssKB is the resident set of process pid in KiB.
func rssKB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(b)
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// TestGenerateBombRefused: the 30-line $GENERATE file is refused, by the
// CLI and by the HTTP API (a customer login), in well under a second, with
// an error naming the limit, the process growing by less than 50 MB, and
// nothing committed.
func TestGenerateBombRefused(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	bomb := writeFile(t, dir, "bomb.example", generateBomb("bomb.example."))

	// The CLI, without a server: its own peak memory, VmHWM read while
	// it runs (getrusage's maxrss of a child counts the parent's memory
	// from before the exec).
	start := time.Now()
	cmd := exec.Command(dmsBin, "--db", db, "zone", "load", bomb)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	maxRSS := 0
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var err error
	for polling := true; polling; {
		if b, rerr := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)); rerr == nil {
			if m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(b); m != nil {
				n, _ := strconv.Atoi(string(m[1]))
				maxRSS = max(maxRSS, n)
			}
		}
		select {
		case err = <-waited:
			polling = false
		case <-time.After(2 * time.Millisecond):
		}
	}
	took := time.Since(start)
	t.Logf("CLI: refused in %v, peak RSS %d KiB: %s", took.Round(time.Millisecond), maxRSS, strings.TrimSpace(errb.String()))
	if err == nil || !strings.Contains(errb.String(), "above the limit of 1048576 records per zone") {
		t.Errorf("zone load of the $GENERATE file: %v\n%s", err, errb.String())
	}
	if took > time.Second || maxRSS > 50*1024 {
		t.Errorf("refusing took %v and %d KiB at peak", took, maxRSS)
	}
	if r := run(t, db, "", "zone", "ls"); strings.Contains(r.out, "bomb.example") {
		t.Errorf("the zone was committed:\n%s", r.out)
	}

	// The API: a customer login through dms serve.
	for _, args := range [][]string{{"config", "set", "soa_mname", "ns1.example.net."}, {"config", "set", "soa_rname", "hostmaster.example.net."},
		{"config", "set", "apex_ns", "ns1.example.net."}, {"sectag", "create", "RESELLER-A"}, {"zone", "create", "panel.example"}, {"zone", "sectag", "add", "panel.example", "RESELLER-A"}} {
		if r := run(t, db, "", args...); r.code != 0 {
			t.Fatal(r.err)
		}
	}
	if r := run(t, db, "panel-password-1\n", "api", "user", "add", "panel", "--sectag", "RESELLER-A"); r.code != 0 {
		t.Fatal(r.err)
	}
	srv := startServe(t, db, "--listen", "127.0.0.1:0", "--metrics-listen", "", "--http-listen", "127.0.0.1:0")
	var base string
	for deadline := time.Now().Add(5 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := reHTTPAddr.FindStringSubmatch(srv.log.String()); m != nil {
			base = "http://" + m[1] + "/api/v1"
		}
	}
	rss0 := rssKB(t, srv.cmd.Process.Pid)
	req, _ := http.NewRequest(http.MethodPut, base+"/zones/panel.example/text", strings.NewReader(generateBomb("panel.example.")))
	req.SetBasicAuth("panel", "panel-password-1")
	req.Header.Set("Content-Type", "text/plain")
	start = time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := new(bytes.Buffer)
	body.ReadFrom(resp.Body)
	resp.Body.Close()
	took = time.Since(start)
	grew := rssKB(t, srv.cmd.Process.Pid) - rss0
	t.Logf("API: %d in %v, RSS grew %d KiB: %s", resp.StatusCode, took.Round(time.Millisecond), grew, strings.TrimSpace(body.String()))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body.String(), "above the limit of 100000 records per zone") {
		t.Errorf("PUT text of the $GENERATE file: %d %s", resp.StatusCode, body.String())
	}
	if took > time.Second || grew > 50*1024 {
		t.Errorf("refusing took %v and grew the server by %d KiB", took, grew)
	}
	if r := run(t, db, "", "zone", "show", "panel.example"); strings.Contains(r.out, "h0-1") {
		t.Errorf("records of the refused text were committed")
	}
}
