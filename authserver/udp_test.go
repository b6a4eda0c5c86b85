package authserver

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestUDPLoop: the workers' UDP loop answers IPv4 and IPv6 clients from
// their own addresses, answers a burst (more datagrams than one batch)
// with every answer to its asker, lets its read transaction go when idle
// (so a writer's old pages can be reused), and ends at once on Close even
// while every worker sleeps in its receive.
func TestUDPLoop(t *testing.T) {
	db := testStore(t, map[string]string{"example.org.": exampleOrg})
	listen := loopbackListen()
	s := NewServer(db, Options{Listen: listen, Workers: 2}, nil)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			s.Close()
		}
	}()
	for _, addr := range s.Addrs() {
		c, err := net.Dial("udp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// A burst: 200 queries with distinct ids before reading any.
		const n = 200
		for i := range n {
			m := new(dns.Msg)
			m.SetQuestion("www.example.org.", dns.TypeA)
			m.Id = uint16(i)
			b, _ := m.Pack()
			if _, err := c.Write(b); err != nil {
				t.Fatal(err)
			}
		}
		seen := map[uint16]bool{}
		buf := make([]byte, 2048)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		for len(seen) < n {
			k, err := c.Read(buf)
			if err != nil {
				break
			}
			var r dns.Msg
			if err := r.Unpack(buf[:k]); err != nil || len(r.Answer) != 1 {
				t.Fatalf("%s: bad answer %v %v", addr, err, r)
			}
			seen[r.Id] = true
		}
		// The socket buffers hold a burst of 200; allow a few drops.
		if len(seen) < n*9/10 {
			t.Errorf("%s: %d of %d answered", addr, len(seen), n)
		}
	}
	// Idle for longer than viewMaxAge: no worker holds a read transaction.
	deadline := time.Now().Add(5 * time.Second)
	for db.OpenReadTxns() > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := db.OpenReadTxns(); n > 0 {
		t.Errorf("%d read transactions held by idle workers", n)
	}
	start := time.Now()
	s.Close()
	closed = true
	if d := time.Since(start); d > 300*time.Millisecond {
		t.Errorf("Close took %v", d)
	}
	// The port is free again.
	for _, addr := range s.Addrs() {
		ap := netip.MustParseAddrPort(addr)
		pc, err := net.ListenPacket("udp", ap.String())
		if err != nil {
			t.Errorf("after Close: %v", err)
			continue
		}
		pc.Close()
	}
}

// loopbackListen is 127.0.0.1:0, and [::1]:0 when the machine has IPv6.
func loopbackListen() []string {
	listen := []string{"127.0.0.1:0"}
	if ln, err := net.ListenPacket("udp6", "[::1]:0"); err == nil {
		ln.Close()
		listen = append(listen, "[::1]:0")
	}
	return listen
}
