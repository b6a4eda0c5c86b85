package admin

import (
	"context"
	"slices"
	"time"

	"dmsdns.org/dms/xfr"
	"dmsdns.org/dms/zonedb"
)

// Pending work, zone_tool's ls_pending_events: what dms still has to do,
// not what it did (dms events): NOTIFYs not yet answered, zones due for
// signature renewal, edit locks held.

// PendingResult is the work waiting.
type PendingResult struct {
	// Notify are the NOTIFYs not yet answered (nil without a running
	// server, which holds them); Unresolved the zones committed and not
	// yet turned into NOTIFYs.
	Notify     []xfr.PendingNotify `json:"notify"`
	Unresolved int                 `json:"unresolved"`
	Server     bool                `json:"server_running"`
	Resign     []PendingResign     `json:"resign"`
	Locks      []PendingLock       `json:"edit_locks"`
}

// PendingResign is a signed zone and when its signatures are renewed.
type PendingResign struct {
	Zone string    `json:"zone"`
	Due  time.Time `json:"due"` // zero: at once
}

// PendingLock is an edit lock someone holds.
type PendingLock struct {
	Zone     string    `json:"zone"`
	LockedBy string    `json:"locked_by"`
	LockedAt time.Time `json:"locked_at"`
}

// maxPendingResign bounds the re-sign schedule shown (soonest first).
const maxPendingResign = 50

// Pending lists the work waiting.
func (s *Service) Pending(ctx context.Context, c Caller, _ struct{}) (*PendingResult, error) {
	if err := adminOnly(c, "list pending work"); err != nil {
		return nil, err
	}
	out := &PendingResult{Resign: []PendingResign{}, Locks: []PendingLock{}}
	if s.live != nil && s.live.Notifier != nil {
		out.Server = true
		out.Notify, out.Unresolved = s.live.Notifier.PendingList()
	}
	err := s.db.View(func(v *zonedb.View) error {
		return v.Zones(func(z *zonedb.Zone) bool {
			if z.Deleted {
				return true
			}
			if z.DNSSEC {
				out.Resign = append(out.Resign, PendingResign{Zone: z.Label(), Due: z.ResignAt()})
			}
			if z.LockToken != "" && z.LockedAt != nil {
				out.Locks = append(out.Locks, PendingLock{Zone: z.Label(), LockedBy: z.LockedBy, LockedAt: *z.LockedAt})
			}
			return true
		})
	})
	slices.SortFunc(out.Resign, func(a, b PendingResign) int { return a.Due.Compare(b.Due) })
	if len(out.Resign) > maxPendingResign {
		out.Resign = out.Resign[:maxPendingResign]
	}
	return out, err
}
