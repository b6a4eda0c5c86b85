package authserver

import (
	"context"
	"net/netip"
	"runtime/debug"
	"sync"

	"github.com/miekg/dns"
)

// What keeps one client or one bad packet from stopping the server: a
// recover around every piece of work on network input (counted as
// Panics), a bounded pool for UDP dynamic updates, and TCP connection
// slots per client.

// recovered logs a panic p met handling input from client, with its
// stack, and counts it. Call it from a deferred function.
func (s *Server) recovered(p any, where string, client netip.AddrPort) {
	s.panics.Add(1)
	s.log.Error("panic handling a request; the server goes on", "where", where, "client", client.String(), "panic", p, "stack", string(debug.Stack()))
}

// Panics is the number of panics recovered since start.
func (s *Server) Panics() uint64 { return s.panics.Load() }

// safeHandle is handle, with a panic answered by nothing (logged and
// counted): the packet is lost, the worker goes on.
func (s *Server) safeHandle(h *viewHolder, req *dns.Msg, in, out []byte, proto Proto, client netip.AddrPort, tw *tcpWriter) (b []byte) {
	defer func() {
		if p := recover(); p != nil {
			s.recovered(p, proto.String(), client)
			h.release()
			b = nil
		}
	}()
	return s.handle(h, req, in, out, proto, client, tw)
}

// UDP dynamic updates wait for a commit: they go to a few workers through
// a bounded queue, so a flood of them takes neither the answering workers
// nor unbounded goroutines. When the queue is full the update is dropped
// (counted); the client retries as RFC 2136 clients do.
const (
	updateWorkers = 2
	updateQueue   = 256
)

type updateJob struct {
	run    func()
	client netip.AddrPort
}

// startUpdates starts the update workers; they end with ctx or Close.
func (s *Server) startUpdates(ctx context.Context) {
	s.updates = make(chan updateJob, updateQueue)
	stop := make(chan struct{})
	s.stop = stop // Close closes it (and forgets it: the workers keep theirs)
	for range updateWorkers {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case <-stop:
					return
				case j := <-s.updates:
					s.runUpdate(j)
				}
			}
		}()
	}
}

func (s *Server) runUpdate(j updateJob) {
	defer func() {
		if p := recover(); p != nil {
			s.recovered(p, "update", j.client)
		}
	}()
	j.run()
}

// queueUpdate hands a UDP update to the workers; false when the queue is
// full (or the workers are not running).
func (s *Server) queueUpdate(j updateJob) bool {
	if s.updates == nil {
		return false
	}
	select {
	case s.updates <- j:
		return true
	default:
		s.updatesDropped.Add(1)
		return false
	}
}

// TCPRejected counts TCP connections closed at once, over their client's
// share or the cap.
func (s *Server) TCPRejected() uint64 { return s.tcpRejected.Load() }

// UpdatesDropped counts UDP updates dropped with the queue full.
func (s *Server) UpdatesDropped() uint64 { return s.updatesDropped.Load() }

// tcpSlots counts open TCP connections per client network (an IPv4
// address, an IPv6 /64: one host's share), so one client's idle
// connections cannot take every slot (RFC 7766 section 6.2.2).
type tcpSlots struct {
	mu  sync.Mutex
	n   map[netip.Prefix]int
	max int
}

func clientNet(a netip.Addr) netip.Prefix {
	if a.Is4() {
		return netip.PrefixFrom(a, 32)
	}
	p, _ := a.Prefix(64)
	return p
}

// take reserves a slot for client; false when it holds its share.
func (t *tcpSlots) take(client netip.Addr) bool {
	k := clientNet(client)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n[k] >= t.max {
		return false
	}
	if t.n == nil {
		t.n = map[netip.Prefix]int{}
	}
	t.n[k]++
	return true
}

func (t *tcpSlots) release(client netip.Addr) {
	k := clientNet(client)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n[k]--; t.n[k] <= 0 {
		delete(t.n, k)
	}
}
