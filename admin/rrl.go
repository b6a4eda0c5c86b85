package admin

import (
	"log/slog"
	"net/netip"
	"reflect"
	"strings"
	"time"

	"dmsdns.org/dms/authserver"
	"dmsdns.org/dms/zonedb"
)

// RRLConfig is the response rate limiting configuration of the store: the
// rrl_* keys, with the secondaries of every SG exempt (they are who the
// zones are for, and never a reflection victim: they ask over TCP and UDP
// from known addresses).
func RRLConfig(v *zonedb.View) (authserver.RRLConfig, error) {
	cfg := effectiveConfig(v.Config())
	rc := authserver.RRLConfig{
		ResponsesPerSecond: cfg.Int("rrl_responses_per_second"),
		Slip:               cfg.Int("rrl_slip"),
		Window:             time.Duration(cfg.Int("rrl_window")) * time.Second,
		IPv4Prefix:         cfg.Int("rrl_ipv4_prefix"),
		IPv6Prefix:         cfg.Int("rrl_ipv6_prefix"),
		LogOnly:            cfg.Bool("rrl_log_only"),
	}
	for _, f := range strings.Fields(cfg["rrl_exempt"]) {
		if p, err := netip.ParsePrefix(f); err == nil {
			rc.Exempt = append(rc.Exempt, p)
		} else if a, err := netip.ParseAddr(f); err == nil {
			rc.Exempt = append(rc.Exempt, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	servers, err := v.Servers()
	if err != nil {
		return rc, err
	}
	for _, s := range servers {
		if a := s.AddrPort().Addr(); a.IsValid() {
			rc.Exempt = append(rc.Exempt, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		}
	}
	return rc, nil
}

// WatchRRL sets srv's rate limiter from the store now and again whenever
// its configuration changes (WatchConfig).
func WatchRRL(db *zonedb.DB, srv *authserver.Server, log *slog.Logger) {
	var last authserver.RRLConfig
	first := true
	WatchConfig(db, func(v *zonedb.View) {
		rc, err := RRLConfig(v)
		if err != nil {
			log.Error("reading the rate limiting configuration", "err", err)
			return
		}
		if !first && reflect.DeepEqual(rc, last) {
			return
		}
		was := first
		first, last = false, rc
		srv.SetRRL(authserver.NewRRL(rc, log))
		if rc.ResponsesPerSecond > 0 {
			log.Info("response rate limiting on", "responses_per_second", rc.ResponsesPerSecond, "slip", rc.Slip,
				"window", rc.Window.String(), "log_only", rc.LogOnly, "exempt", len(rc.Exempt))
		} else if !was {
			log.Info("response rate limiting off")
		}
	})
}
