//go:build !linux

package authserver

import (
	"context"
	"net"
)

// listenUDP opens one worker's socket; elsewhere than Linux, the
// netpoller's.
func listenUDP(ctx context.Context, lc net.ListenConfig, network, addr string) (udpConn, error) {
	pc, err := lc.ListenPacket(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	uc := pc.(*net.UDPConn)
	_ = uc.SetReadBuffer(udpReadBuffer)
	return uc, nil
}

// serveUDPRaw is the blocking recvmmsg loop of udp_linux.go; elsewhere the
// netpoller loop serves.
func (s *Server) serveUDPRaw(uc udpConn, worker int) bool { return false }

// shutdownUDP has nothing to wake where serveUDPRaw does not run.
func shutdownUDP(uc udpConn) {}

// reserveProcs has nothing to reserve where serveUDPRaw does not run.
func reserveProcs(loops int) {}
