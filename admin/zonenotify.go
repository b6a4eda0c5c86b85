package admin

import (
	"context"
	"strings"

	"dmsdns.org/dms/zonedb"
)

// ZoneNotifyRequest names the zones to re-send NOTIFY for: one zone, the
// zones of a server group, or all.
type ZoneNotifyRequest struct {
	Name string `json:"name,omitempty"`
	SG   string `json:"sg,omitempty"`
	All  bool   `json:"all,omitempty"`
}

// ZoneNotifyResult says how many zones were queued.
type ZoneNotifyResult struct {
	Zones   []string `json:"zones"`
	Pending int      `json:"notify_pending"`
}

// ZoneNotify re-sends NOTIFY to the secondaries of a zone, of every zone of
// a server group, or of every zone (zone_tool's refresh_zone, refresh_sg,
// refresh_all): the secondaries then ask for the SOA and transfer what
// they lack.
func (s *Service) ZoneNotify(ctx context.Context, c Caller, req ZoneNotifyRequest) (*ZoneNotifyResult, error) {
	n := 0
	for _, b := range []bool{req.Name != "", req.SG != "", req.All} {
		if b {
			n++
		}
	}
	if n != 1 {
		return nil, usagef("name a zone, or give --sg SG or --all")
	}
	if s.live == nil || s.live.Notifier == nil {
		return nil, errNotRunning("dms zone notify")
	}
	if req.Name != "" {
		name, err := s.zoneAccess(c, req.Name)
		if err != nil {
			return nil, err
		}
		s.live.Notifier.NotifyZone(c.View, name)
		return &ZoneNotifyResult{Zones: []string{name}, Pending: s.live.Notifier.Pending()}, nil
	}
	if err := adminOnly(c, "notify every zone of a server group or the store"); err != nil {
		return nil, err
	}
	res := &ZoneNotifyResult{Zones: []string{}}
	err := s.db.View(func(v *zonedb.View) error {
		if req.SG != "" {
			if _, err := v.SG(req.SG); err != nil {
				return err
			}
		}
		return v.Zones(func(z *zonedb.Zone) bool {
			if !served(z) || req.SG != "" && !strings.EqualFold(z.SG, req.SG) && !strings.EqualFold(z.AltSG, req.SG) {
				return true
			}
			view := ""
			if z.ViewID != 0 {
				view = z.View
			}
			s.live.Notifier.NotifyZone(view, z.Name)
			res.Zones = append(res.Zones, z.Label())
			return true
		})
	})
	res.Pending = s.live.Notifier.Pending()
	return res, err
}
