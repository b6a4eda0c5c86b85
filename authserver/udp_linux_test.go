package authserver

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/miekg/dns"
)

// TestUDPSocketsOutsideNetpoller: on Linux the workers' UDP sockets are
// in no epoll set of the process (the runtime's netpoller would otherwise
// wake a thread at every datagram, for nothing), while the TCP listener
// is (so the check can see a registered socket), and the runtime keeps a
// P beyond the UDP loops' own (so that sysmon leaves a loop asleep in its
// receive alone).
func TestUDPSocketsOutsideNetpoller(t *testing.T) {
	db := testStore(t, map[string]string{"example.org.": exampleOrg})
	listen := loopbackListen()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	runtime.GOMAXPROCS(1)
	s := NewServer(db, Options{Listen: listen, Workers: 2}, nil)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	polled := epollFDs(t)
	for _, uc := range s.udp {
		fd := connFD(t, uc)
		if polled[fd] {
			t.Errorf("UDP socket %s (fd %d) is in the netpoller's epoll set", uc.LocalAddr(), fd)
		}
	}
	for _, ln := range s.tcp {
		if fd := connFD(t, ln); !polled[fd] {
			t.Errorf("TCP listener %s (fd %d) not found in any epoll set: the check sees nothing", ln.Addr(), fd)
		}
	}
	if got, want := runtime.GOMAXPROCS(0), len(s.udp)+1; got < want {
		t.Errorf("GOMAXPROCS %d with %d UDP loops, want at least %d", got, len(s.udp), want)
	}
	// The sockets answer, from the address asked.
	for _, addr := range s.Addrs() {
		q := new(dns.Msg)
		q.SetQuestion("www.example.org.", dns.TypeA)
		if r, err := dns.Exchange(q, addr); err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
			t.Errorf("query on %s: %v %v", addr, r, err)
		}
	}
}

func connFD(t *testing.T, c any) int {
	t.Helper()
	sc, ok := c.(syscall.Conn)
	if !ok {
		t.Fatalf("%T has no descriptor", c)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	fd := -1
	_ = rc.Control(func(f uintptr) { fd = int(f) })
	return fd
}

// epollFDs is every descriptor registered in an epoll set of this process
// (the "tfd:" lines of /proc/self/fdinfo of each eventpoll descriptor).
func epollFDs(t *testing.T) map[int]bool {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	fds := map[int]bool{}
	for _, e := range ents {
		if l, _ := os.Readlink("/proc/self/fd/" + e.Name()); l != "anon_inode:[eventpoll]" {
			continue
		}
		b, err := os.ReadFile("/proc/self/fdinfo/" + e.Name())
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) >= 2 && f[0] == "tfd:" {
				n, _ := strconv.Atoi(f[1])
				fds[n] = true
			}
		}
	}
	if len(fds) == 0 {
		t.Fatal("no epoll set found in /proc/self")
	}
	return fds
}
