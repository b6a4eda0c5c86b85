package admin

import (
	"context"
	"log/slog"
	"time"

	"dmsdns.org/dms/zonedb"
)

// VacuumRequest says what to age: zis, zones, events or all (empty: all).
type VacuumRequest struct {
	What   string `json:"what,omitempty"`
	DryRun bool   `json:"dry_run,omitempty"`
}

// Vacuum ages zone instances, deleted zones and the event log with the
// config's ages (zi_max_age, zi_max_num, zone_del_age, zone_del_pare_age,
// event_max_age). The server runs it daily.
func (s *Service) Vacuum(ctx context.Context, c Caller, req VacuumRequest) (*zonedb.VacuumResult, error) {
	if err := adminOnly(c, "vacuum the store"); err != nil {
		return nil, err
	}
	var cfg Config
	if err := s.read(c, func(v *zonedb.View) error { cfg = s.config(v); return nil }); err != nil {
		return nil, err
	}
	o := zonedb.VacuumOptions{
		ZIMaxAge: cfg.Days("zi_max_age"), ZIMaxNum: cfg.Int("zi_max_num"),
		ZoneDelAge: cfg.Days("zone_del_age"), ZoneDelPareAge: cfg.Days("zone_del_pare_age"),
		EventMaxAge: cfg.Days("event_max_age"), DryRun: req.DryRun, ChangeBy: c.ChangeBy(),
	}
	switch req.What {
	case "", "all":
		o.ZIs, o.Zones, o.Events = true, true, true
	case "zis":
		o.ZIs = true
	case "zones":
		o.Zones = true
	case "events":
		o.Events = true
	default:
		return nil, usagef("vacuum what? %q: zis, zones, events or all", req.What)
	}
	return s.db.Vacuum(o)
}

// VacuumDaily runs vacuum all once a day until ctx ends (the first an
// hour after start, so a restart loop does not vacuum over and over).
func (s *Service) VacuumDaily(ctx context.Context, log *slog.Logger) {
	s.vacuumEvery(ctx, time.Hour, 24*time.Hour, log)
}

func (s *Service) vacuumEvery(ctx context.Context, first, every time.Duration, log *slog.Logger) {
	wait := first
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = every
		res, err := s.Vacuum(ctx, LocalCaller(), VacuumRequest{What: "all"})
		if err != nil {
			log.Error("daily vacuum", "err", err)
			continue
		}
		log.Info("daily vacuum", "zis", res.ZIs, "pared_zis", res.PareZIs, "destroyed_zones", len(res.Destroyed), "events", res.Events)
	}
}
