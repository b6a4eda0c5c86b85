package cli_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

// storeWithZones makes a store holding n small zones, in batches of 1000
// zones per commit.
func storeWithZones(b *testing.B, n int) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "dms.db")
	db, err := zonedb.Open(path, zonedb.Options{Create: true, NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for start := 0; start < n; start += 1000 {
		cs := &zonedb.ChangeSet{ChangeBy: "bench"}
		for i := start; i < min(n, start+1000); i++ {
			name := fmt.Sprintf("zone%d.example.", i)
			var recs []zonedb.Record
			for _, l := range []string{
				name + " 3600 IN SOA ns1.example.net. h.example.net. 1 3600 900 1209600 300",
				name + " 3600 IN NS ns1.example.net.",
				"www." + name + " 3600 IN A 192.0.2.1",
			} {
				rr, err := dns.NewRR(l)
				if err != nil {
					b.Fatal(err)
				}
				recs = append(recs, zonedb.Record{RR: rr})
			}
			cs.Zones = append(cs.Zones, zonedb.ZoneChange{Zone: name, Create: &zonedb.Zone{}, Replace: true, Records: recs})
		}
		if _, err := db.Commit(cs); err != nil {
			b.Fatal(err)
		}
	}
	return path
}

// benchStartup measures dms serve from exec to its first answer, with n
// zones in the store (DESIGN.md: start-up must not grow with the zones).
func benchStartup(b *testing.B, n int) {
	db := storeWithZones(b, n)
	m := new(dns.Msg)
	m.SetQuestion(fmt.Sprintf("www.zone%d.example.", n-1), dns.TypeA)
	c := &dns.Client{Timeout: 50 * time.Millisecond}
	var total time.Duration
	runs := 0
	for b.Loop() {
		addr := "127.0.0.1:" + freePort(b)
		start := time.Now()
		cmd := exec.Command(dmsBin, "--db", db, "serve", "--listen", addr, "--metrics-listen", "", "--log-level", "error")
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		for {
			r, _, err := c.Exchange(m, addr)
			if err == nil && r.Rcode == dns.RcodeSuccess && len(r.Answer) == 1 {
				break
			}
			if time.Since(start) > 10*time.Second {
				b.Fatalf("no answer after 10 s: %v %v", err, r)
			}
			time.Sleep(time.Millisecond)
		}
		total += time.Since(start)
		runs++
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(runs), "ms-to-first-answer")
}

func BenchmarkStartup10k(b *testing.B)  { benchStartup(b, 10000) }
func BenchmarkStartup100k(b *testing.B) { benchStartup(b, 100000) }

func freePort(b *testing.B) string {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	_, port, _ := net.SplitHostPort(c.LocalAddr().String())
	return port
}
