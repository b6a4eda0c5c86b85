package admin

import (
	"context"
	"strings"
	"time"

	"dmsdns.org/dms/xfr"
	"dmsdns.org/dms/zonedb"
)

// Live is what a running dms serve knows beyond the store: its listeners,
// the NOTIFYs waiting and the secondaries' states. Operations that need it
// (dms status) fail with CodeNotRunning when the store was opened directly.
type Live struct {
	Started  time.Time
	DNS      []string
	Metrics  string
	Notifier *xfr.Notifier
	Monitor  *xfr.Monitor
}

// SetLive attaches the running server's state to the service.
func (s *Service) SetLive(l *Live) { s.live = l }

// StatusRequest asks for the status; Check polls every secondary first.
type StatusRequest struct {
	Check bool `json:"check,omitempty"`
}

// MasterStatus is the master's part of dms status.
type MasterStatus struct {
	Host          string         `json:"host"`
	Started       time.Time      `json:"started"`
	DNS           []string       `json:"dns"`
	Metrics       string         `json:"metrics"`
	Store         string         `json:"store"`
	StoreBytes    int64          `json:"store_bytes"`
	Zones         map[string]int `json:"zones"`
	NotifyPending int            `json:"notify_pending"`
	Generation    uint64         `json:"generation"`
	// ZoneCheck sums up the last dms zone check run (nil: none since the
	// server started).
	ZoneCheck *ZoneCheckSummary `json:"zone_check,omitempty"`
}

// ZoneCheckSummary is a zone check run in a line.
type ZoneCheckSummary struct {
	Time     time.Time      `json:"time"`
	Zones    int            `json:"zones"`
	Errors   int            `json:"errors"`
	Warnings int            `json:"warnings"`
	ByCode   map[string]int `json:"by_code,omitempty"`
}

// Status is dms status: the master, then each secondary.
type Status struct {
	Master  MasterStatus       `json:"master"`
	Servers []xfr.ServerStatus `json:"servers"`
}

func errNotRunning(what string) error {
	return &Error{Code: CodeNotRunning, Message: what + " needs a running dms serve (its secondaries' states live in the server)",
		Hint: "start it with dms serve, or check with systemctl status dms"}
}

// Status reports the master and its secondaries, like show_dms_status.
func (s *Service) Status(ctx context.Context, c Caller, req StatusRequest) (*Status, error) {
	if s.live == nil {
		return nil, errNotRunning("dms status")
	}
	if req.Check {
		s.live.Monitor.CheckNow(ctx)
	}
	st := &Status{Master: MasterStatus{Host: Hostname(), Started: s.live.Started, DNS: s.live.DNS, Metrics: s.live.Metrics,
		Store: s.db.Path(), StoreBytes: s.db.Size(), Zones: map[string]int{}, NotifyPending: s.live.Notifier.Pending(),
		Generation: s.db.Generation()}}
	if last := s.LastZoneCheck(); last != nil {
		st.Master.ZoneCheck = &ZoneCheckSummary{Time: last.Time, Zones: len(last.Zones), Errors: last.Errors, Warnings: last.Warnings, ByCode: last.ByCode}
	}
	err := s.read(c, func(v *zonedb.View) error {
		return v.Zones(func(z *zonedb.Zone) bool {
			if z.CatalogOf != "" {
				st.Master.Zones["CATALOG"]++
			} else {
				st.Master.Zones[z.State()]++
			}
			return true
		})
	})
	st.Servers = s.live.Monitor.Status()
	if st.Servers == nil {
		st.Servers = []xfr.ServerStatus{}
	}
	return st, err
}

// serverStatus is the live status of one server, nil when not running or
// not polled yet.
func (s *Service) serverStatus(srv *zonedb.Server) *xfr.ServerStatus {
	if s.live == nil || srv.Disabled {
		// A disabled server is not polled: what a poll found before it
		// was disabled is no state of it now.
		return nil
	}
	for _, st := range s.live.Monitor.Status() {
		if strings.EqualFold(st.Name, srv.Name) {
			return &st
		}
	}
	return nil
}
