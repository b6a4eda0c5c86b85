package admin

import (
	"context"

	"dmsdns.org/dms/zonedb"
)

// EventListRequest selects events: newest first.
type EventListRequest struct {
	Zone   string `json:"zone,omitempty"`
	Failed bool   `json:"failed,omitempty"`
	Limit  int    `json:"limit,omitempty"`
}

// EventList lists the event log.
func (s *Service) EventList(ctx context.Context, c Caller, req EventListRequest) ([]zonedb.LogEvent, error) {
	if err := adminOnly(c, "read the event log"); err != nil {
		return nil, err
	}
	if req.Limit < 0 {
		return nil, usagef("the number of events must be 0 (all) or more")
	}
	zone := ""
	if req.Zone != "" {
		var err error
		if zone, err = s.zoneName(c, req.Zone); err != nil {
			return nil, err
		}
	}
	var out []zonedb.LogEvent
	err := s.read(c, func(v *zonedb.View) error {
		var err error
		out, err = v.Events(zonedb.EventFilter{Zone: zone, Failed: req.Failed, Limit: req.Limit})
		return err
	})
	return out, err
}

// EventShowRequest names an event.
type EventShowRequest struct {
	ID uint64 `json:"id"`
}

// EventShow shows one event whole.
func (s *Service) EventShow(ctx context.Context, c Caller, req EventShowRequest) (*zonedb.LogEvent, error) {
	if err := adminOnly(c, "read the event log"); err != nil {
		return nil, err
	}
	var out *zonedb.LogEvent
	err := s.read(c, func(v *zonedb.View) error {
		var err error
		out, err = v.Event(req.ID)
		return err
	})
	return out, err
}
