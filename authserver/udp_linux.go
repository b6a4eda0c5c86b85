//go:build linux

package authserver

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"
	"unsafe"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"
)

// The UDP loop on Linux: each worker sleeps in a blocking recvmmsg on its
// own SO_REUSEPORT socket and sends its batch of answers with one
// sendmmsg, without the netpoller's round trip (epoll, parking and waking
// the goroutine) and without a net.UDPAddr per datagram.
//
// The sockets are made with socket(2) in blocking mode and never join the
// netpoller. A socket in the runtime's epoll set would wake the thread
// that waits there at every datagram received and every answer freed,
// for nothing, since no goroutine waits on it (measured: about 4 000
// wake-ups a second per idle thread at 130 000 queries a second).
//
// The loop runs inside the socket's RawConn.Read, which holds a reference
// on the descriptor: Close cannot close it under the loop (and the number
// cannot be reused by another file meanwhile); the descriptor is closed
// when the loop lets go. A receive timeout (SO_RCVTIMEO, viewMaxAge) wakes
// an idle worker so that it lets go of its read transaction;
// Server.Close shuts the socket down for reading, which wakes a worker
// asleep in recvmmsg at once (Linux wakes the waiters of even an
// unconnected UDP socket on shutdown), and the loop ends when it sees the
// server closing.

// rawSocket is one worker's UDP socket on Linux.
type rawSocket struct {
	f     *os.File // owns the descriptor
	rc    syscall.RawConn
	laddr *net.UDPAddr
	v6    bool
}

func (r *rawSocket) LocalAddr() net.Addr { return r.laddr }

// SyscallConn is the socket's descriptor, as net.UDPConn's.
func (r *rawSocket) SyscallConn() (syscall.RawConn, error) { return r.rc, nil }

// Close closes the socket once the worker's loop has let go of it.
func (r *rawSocket) Close() error { return r.f.Close() }

// WriteToUDPAddrPort sends one datagram (an answer outside the worker's
// batch: dynamic updates).
func (r *rawSocket) WriteToUDPAddrPort(b []byte, to netip.AddrPort) (int, error) {
	sa := sockaddrOf(to, r.v6)
	if sa == nil {
		return 0, fmt.Errorf("write udp %s: an IPv6 address on an IPv4 socket", to)
	}
	var serr error
	if err := r.rc.Write(func(fd uintptr) bool {
		serr = unix.Sendto(int(fd), b, 0, sa)
		return true
	}); err != nil {
		return 0, err
	}
	if serr != nil {
		return 0, &net.OpError{Op: "write", Net: "udp", Source: r.laddr, Addr: net.UDPAddrFromAddrPort(to), Err: os.NewSyscallError("sendto", serr)}
	}
	return len(b), nil
}

// sockaddrOf is ap for a socket of the family v6 says; nil for an IPv6
// address on an IPv4 socket.
func sockaddrOf(ap netip.AddrPort, v6 bool) unix.Sockaddr {
	a := ap.Addr()
	switch {
	case v6:
		return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: a.As16(), ZoneId: zoneIndex(a.Zone())}
	case a.Unmap().Is4():
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: a.Unmap().As4()}
	}
	return nil
}

// zoneIndex is the interface index of an IPv6 zone ("eth0" or "2").
func zoneIndex(zone string) uint32 {
	if zone == "" {
		return 0
	}
	if ifi, err := net.InterfaceByName(zone); err == nil {
		return uint32(ifi.Index)
	}
	n, _ := strconv.ParseUint(zone, 10, 32)
	return uint32(n)
}

// listenUDP opens one worker's socket on addr (an address literal and
// port, as the TCP listener bound it): blocking, SO_REUSEPORT, IPv6 only
// on an IPv6 address, a receive buffer of udpReadBuffer and a receive
// timeout of viewMaxAge.
func listenUDP(_ context.Context, _ net.ListenConfig, network, addr string) (udpConn, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, err
	}
	v6 := !ap.Addr().Unmap().Is4()
	domain := unix.AF_INET
	if v6 {
		domain = unix.AF_INET6
	}
	fd, err := unix.Socket(domain, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	fail := func(call string, err error) (udpConn, error) {
		unix.Close(fd)
		return nil, os.NewSyscallError(call, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
		return fail("setsockopt", err)
	}
	if v6 {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1); err != nil {
			return fail("setsockopt", err)
		}
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, udpReadBuffer) // capped by net.core.rmem_max, as net's SetReadBuffer
	tv := unix.NsecToTimeval(int64(viewMaxAge))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fail("setsockopt", err)
	}
	if err := unix.Bind(fd, sockaddrOf(ap, v6)); err != nil {
		return fail("bind", err)
	}
	f := os.NewFile(uintptr(fd), network+" "+addr) // blocking: not added to the netpoller
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	// addr has its port already (the TCP listener's): no getsockname.
	return &rawSocket{f: f, rc: rc, laddr: net.UDPAddrFromAddrPort(ap), v6: v6}, nil
}

// serveUDPRaw runs the worker loop on a raw socket; false for any other
// (the netpoller loop then serves it).
func (s *Server) serveUDPRaw(c udpConn, worker int) bool {
	r, ok := c.(*rawSocket)
	if !ok {
		return false
	}
	_ = r.rc.Read(func(fd uintptr) bool {
		s.rawLoop(r, int(fd), worker)
		return true
	})
	return true
}

// shutdownUDP wakes a worker asleep in recvmmsg (Close).
func shutdownUDP(c udpConn) {
	if r, ok := c.(*rawSocket); ok {
		_ = r.rc.Control(func(fd uintptr) { _ = unix.Shutdown(int(fd), unix.SHUT_RD) })
	}
}

// reserveProcs makes sure the runtime has a P (GOMAXPROCS) beyond the
// loops' own. A loop spends its idle moments inside recvmmsg, which the
// runtime counts as a running P; when no P is idle, sysmon takes the P of
// any syscall older than 20 us and hands it to another thread, which
// wakes, finds nothing to do and sleeps again, and the loop must win a P
// back when its receive returns: a few thread switches each time the
// socket runs dry. With one P idle, sysmon leaves a P in a syscall alone
// for 10 ms. (dms serve pinned to one core, as make bench runs it, would
// otherwise have GOMAXPROCS 1 and one loop.) Extra Ps cost nothing while
// idle.
func reserveProcs(loops int) {
	if n := loops + 1; runtime.GOMAXPROCS(0) < n {
		runtime.GOMAXPROCS(n)
	}
}

// rawBatch is how many datagrams one recvmmsg/sendmmsg moves.
const rawBatch = 64

// mmsghdr is struct mmsghdr: a msghdr and the length received.
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
	_   [4]byte
}

type rawBufs struct {
	in      [rawBatch]mmsghdr
	inIov   [rawBatch]unix.Iovec
	names   [rawBatch]unix.RawSockaddrInet6 // large enough for both families
	inBuf   [rawBatch][4096]byte
	out     [rawBatch]mmsghdr
	outIov  [rawBatch]unix.Iovec
	outBuf  [rawBatch][2048]byte
	answers [rawBatch][]byte
}

func (s *Server) rawLoop(uc *rawSocket, fd, worker int) {
	h := s.udpHolder(uc, worker)
	defer h.release()
	b := new(rawBufs)
	for i := range b.in {
		b.inIov[i].Base = &b.inBuf[i][0]
		b.in[i].hdr.Iov = &b.inIov[i]
		b.in[i].hdr.Iovlen = 1
		b.in[i].hdr.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		b.out[i].hdr.Iov = &b.outIov[i]
		b.out[i].hdr.Iovlen = 1
	}
	req := new(dns.Msg)
	var yielded time.Time
	for !s.closing.Load() {
		for i := range b.in {
			b.inIov[i].SetLen(len(b.inBuf[i]))
			b.in[i].hdr.Namelen = unix.SizeofSockaddrInet6
		}
		n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&b.in[0])), rawBatch, unix.MSG_WAITFORONE, 0, 0)
		switch {
		case errno == unix.EAGAIN:
			// Idle for viewMaxAge: let the read transaction go.
			h.release()
			continue
		case errno == unix.EINTR || errno == 0 && n == 0:
			// Interrupted, or woken by Close's shutdown (the loop's test
			// ends it): receive again.
			continue
		case errno != 0:
			// A passing error (ENOMEM, ENOBUFS...): receive again after a
			// moment, without spinning on it.
			time.Sleep(time.Millisecond)
			continue
		}
		h.readAt = time.Now()
		if h.readAt.Sub(yielded) > time.Millisecond {
			// A goroutine that never passes through the scheduler looks
			// stuck to sysmon after 10 ms: it then preempts it with a
			// signal (which ends the receive early) and takes its P at
			// every syscall. Yielding now and then keeps it a
			// well-behaved goroutine.
			runtime.Gosched()
			yielded = h.readAt
		}
		w := 0
		for i := range int(n) {
			m := &b.in[i]
			client := sockaddrAddrPort(&b.names[i], m.hdr.Namelen)
			*req = dns.Msg{}
			in := b.inBuf[i][:m.len]
			ans := s.safeHandle(h, req, in, b.outBuf[w][:0], UDP, client, nil)
			if r := s.rrl.Load(); r != nil && ans != nil {
				ans = r.Apply(in, ans, client.Addr())
			}
			if len(ans) == 0 {
				continue
			}
			b.answers[w] = ans
			b.outIov[w].Base = &ans[0]
			b.outIov[w].SetLen(len(ans))
			b.out[w].hdr.Name = m.hdr.Name
			b.out[w].hdr.Namelen = m.hdr.Namelen
			w++
		}
		for sent := 0; sent < w; {
			k, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&b.out[sent])), uintptr(w-sent), 0, 0, 0)
			if errno == unix.EINTR {
				continue
			}
			if errno != 0 {
				// A full socket buffer or an unreachable client: that
				// answer is dropped, as any server's would be; go on with
				// the rest.
				sent++
				continue
			}
			sent += int(k)
		}
		clear(b.answers[:w])
	}
}

// sockaddrAddrPort reads a client address filled in by recvmmsg.
func sockaddrAddrPort(sa *unix.RawSockaddrInet6, n uint32) netip.AddrPort {
	switch sa.Family {
	case unix.AF_INET:
		if n < unix.SizeofSockaddrInet4 {
			return netip.AddrPort{}
		}
		s4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&s4.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom4(s4.Addr), port)
	case unix.AF_INET6:
		if n < unix.SizeofSockaddrInet6 {
			return netip.AddrPort{}
		}
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), port)
	}
	return netip.AddrPort{}
}
