// Command floor is make bench's floor reference: a UDP responder that does
// no DNS work at all. It receives with recvmmsg, turns each query into a
// response by flipping the header (QR on, the counts after the question
// zeroed) and cutting the packet after the question, and sends the batch
// back with sendmmsg: 64 messages a call, on a blocking socket outside the
// Go netpoller, from one goroutine (one per -workers) that yields to the
// scheduler every millisecond, with a spare P: as dms's own loop
// (authserver/udp_linux.go), without which the runtime's sysmon would
// take the P of every receive that sleeps and wake other threads for
// nothing (on one core that cost this loop 10-15%). Nothing that answers over the kernel's UDP sockets can
// be cheaper, so a server's CPU per query is best read as a ratio to this
// one's, measured in the same run (issue "Answers at the machine's floor").
//
// Usage: floor -listen 127.0.0.1:5399 [-workers N]. It runs until killed.
package main

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	batch   = 64
	bufSize = 1232
)

// mmsghdr is struct mmsghdr: a msghdr and the length received.
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
	_   [4]byte
}

func main() {
	listen := flag.String("listen", "127.0.0.1:5399", "address:port to answer on (UDP)")
	workers := flag.Int("workers", 1, "loops, each on its own SO_REUSEPORT socket (as dms serve --workers)")
	flag.Parse()
	ap, err := netip.ParseAddrPort(*listen)
	if err != nil || !ap.Addr().Is4() || *workers < 1 {
		fmt.Fprintf(os.Stderr, "floor: -listen wants an IPv4 address:port (not %q), -workers at least 1\n", *listen)
		os.Exit(2)
	}
	if runtime.GOMAXPROCS(0) < *workers+1 {
		runtime.GOMAXPROCS(*workers + 1)
	}
	errs := make(chan error, *workers)
	for range *workers {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
		if err == nil {
			err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		}
		if err == nil {
			err = unix.Bind(fd, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()})
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "floor:", err)
			os.Exit(1)
		}
		go func() { errs <- serve(fd) }()
	}
	fmt.Fprintln(os.Stderr, "floor:", <-errs)
	os.Exit(1)
}

// serve answers until an error: each round, one recvmmsg (waiting for the
// first message only) and one sendmmsg of the answers.
func serve(fd int) error {
	var (
		msgs  [batch]mmsghdr
		iovs  [batch]unix.Iovec
		names [batch]unix.RawSockaddrInet4
		bufs  [batch][bufSize]byte
	)
	for i := range msgs {
		iovs[i].Base = &bufs[i][0]
		iovs[i].SetLen(bufSize)
		msgs[i].hdr.Iov = &iovs[i]
		msgs[i].hdr.Iovlen = 1
		msgs[i].hdr.Name = (*byte)(unsafe.Pointer(&names[i]))
	}
	var yielded time.Time
	for {
		if now := time.Now(); now.Sub(yielded) > time.Millisecond {
			runtime.Gosched()
			yielded = now
		}
		for i := range msgs {
			msgs[i].hdr.Namelen = unix.SizeofSockaddrInet4
			iovs[i].SetLen(bufSize)
		}
		n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])), batch, unix.MSG_WAITFORONE, 0, 0)
		if errno != 0 {
			if errno == unix.EINTR {
				continue
			}
			return errno
		}
		out := 0
		for i := 0; i < int(n); i++ {
			if l := respond(bufs[i][:msgs[i].len]); l > 0 {
				if out != i {
					// Keep the answers together at the front.
					bufs[out] = bufs[i]
					names[out] = names[i]
					msgs[out].hdr.Namelen = msgs[i].hdr.Namelen
				}
				iovs[out].SetLen(l)
				out++
			}
		}
		for sent := 0; sent < out; {
			m, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&msgs[sent])), uintptr(out-sent), 0, 0, 0)
			if errno != 0 {
				if errno == unix.EINTR {
					continue
				}
				break // a full socket buffer: the rest are dropped, as any server would
			}
			sent += int(m)
		}
	}
}

// respond turns the query in b into a response in place and returns its
// length, or 0 for what is no query (dropped).
func respond(b []byte) int {
	if len(b) < 12 || b[2]&0x80 != 0 || b[4] != 0 || b[5] != 1 {
		return 0
	}
	off := 12
	for off < len(b) && b[off] != 0 {
		if b[off]&0xC0 != 0 {
			return 0
		}
		off += int(b[off]) + 1
	}
	off += 5 // the root label, type and class
	if off > len(b) {
		return 0
	}
	b[2] |= 0x80                                            // QR
	b[3] &^= 0x80                                           // RA off
	b[6], b[7], b[8], b[9], b[10], b[11] = 0, 0, 0, 0, 0, 0 // no answer, authority or additional
	return off
}
