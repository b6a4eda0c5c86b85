//go:build !linux

package authserver

import "net"

// serveUDPRaw is the blocking recvmmsg loop of udp_linux.go; elsewhere the
// netpoller loop serves.
func (s *Server) serveUDPRaw(uc *net.UDPConn, worker int) bool { return false }

// shutdownUDP has nothing to wake where serveUDPRaw does not run.
func shutdownUDP(uc *net.UDPConn) {}
