package admin

import (
	"context"
	"fmt"

	"dmsdns.org/dms/zonedb"
)

// A zone's settings and state: set, delete and undelete, destroy, serial,
// rollback, and its reference.

// ZoneSetRequest changes a zone's settings; nil fields stay as they are.
type ZoneSetRequest struct {
	Name       string  `json:"name"`
	IncUpdates *bool   `json:"inc_updates,omitempty"`
	EditLock   *bool   `json:"edit_lock,omitempty"`
	NSEC3      *bool   `json:"nsec3,omitempty"`
	UseApexNS  *bool   `json:"use_apex_ns,omitempty"`
	Disabled   *bool   `json:"disabled,omitempty"`
	SG         *string `json:"sg,omitempty"`
}

// ZoneSet changes zone settings (no new zone instance: records and serial
// stay as they are).
func (s *Service) ZoneSet(ctx context.Context, c Caller, req ZoneSetRequest) (*CommitResult, error) {
	name, err := s.zoneAccess(c, req.Name)
	if err != nil {
		return nil, err
	}
	set := func(dst *bool, p *bool) {
		if p != nil {
			*dst = *p
		}
	}
	if req.SG != nil && !c.IsAdmin() {
		return nil, fmt.Errorf("%w: only the Admin sectag may move zones between server groups", ErrForbidden)
	}
	res, err := s.commit(ctx, c, zonedb.ZoneChange{Zone: name, Update: func(z *zonedb.Zone) error {
		set(&z.IncUpdates, req.IncUpdates)
		set(&z.EditLock, req.EditLock)
		if req.NSEC3 != nil && z.Params != nil && *req.NSEC3 != z.Params.NSEC3 {
			// A signed zone's denial is its DNSSEC parameters' (the flag
			// only chooses for a zone signed later): changing it means a
			// new chain, which the flag alone would not make.
			return usagef("zone %s is signed with %s; the denial of a signed zone changes only by signing it anew (dms dnssec disable, then dms dnssec enable --nsec or --nsec3)",
				z.Name, map[bool]string{true: "NSEC3", false: "NSEC"}[z.Params.NSEC3])
		}
		set(&z.NSEC3, req.NSEC3)
		set(&z.UseApexNS, req.UseApexNS)
		set(&z.Disabled, req.Disabled)
		if req.SG != nil {
			z.SG = *req.SG
		}
		return nil
	}})
	if err != nil {
		return nil, err
	}
	return &CommitResult{Commits: res}, nil
}

// ZoneDelete marks a zone deleted: kept in the store, not served.
func (s *Service) ZoneDelete(ctx context.Context, c Caller, req ZoneRequest) (*CommitResult, error) {
	return s.setDeleted(ctx, c, req.Name, true)
}

// ZoneUndelete serves a deleted zone again.
func (s *Service) ZoneUndelete(ctx context.Context, c Caller, req ZoneRequest) (*CommitResult, error) {
	return s.setDeleted(ctx, c, req.Name, false)
}

func (s *Service) setDeleted(ctx context.Context, c Caller, zone string, del bool) (*CommitResult, error) {
	name, err := s.zoneAccess(c, zone)
	if err != nil {
		return nil, err
	}
	res, err := s.commit(ctx, c, zonedb.ZoneChange{Zone: name, Update: func(z *zonedb.Zone) error {
		if z.Deleted == del {
			if del {
				return usagef("zone %s is already deleted", name)
			}
			return usagef("zone %s is not deleted", name)
		}
		z.Deleted = del
		return nil
	}})
	if err != nil {
		return nil, err
	}
	return &CommitResult{Commits: res}, nil
}

// ZoneDestroy removes a zone, its records and its history for good.
func (s *Service) ZoneDestroy(ctx context.Context, c Caller, req ZoneRequest) (*CommitResult, error) {
	name, err := s.zoneAccess(c, req.Name)
	if err != nil {
		return nil, err
	}
	res, err := s.commit(ctx, c, zonedb.ZoneChange{Zone: name, Destroy: true})
	if err != nil {
		return nil, err
	}
	return &CommitResult{Commits: res}, nil
}

// ZoneSerialRequest sets, bumps or wraps a zone's serial.
type ZoneSerialRequest struct {
	Name string  `json:"name"`
	Set  *uint32 `json:"set,omitempty"`
	Bump bool    `json:"bump,omitempty"`
	Wrap bool    `json:"wrap,omitempty"`
}

// SerialResult reports a serial change, with an explanation for a wrap.
type SerialResult struct {
	CommitResult
	Note string `json:"note,omitempty"`
}

// ZoneSerial sets the serial (only forward in RFC 1982 terms), bumps it by
// the policy, or makes one deliberate wrap step.
func (s *Service) ZoneSerial(ctx context.Context, c Caller, req ZoneSerialRequest) (*SerialResult, error) {
	name, err := s.zoneAccess(c, req.Name)
	if err != nil {
		return nil, err
	}
	n := 0
	zc := zonedb.ZoneChange{Zone: name, NewZI: true}
	if req.Set != nil {
		n++
		zc.Serial, zc.SerialValue = zonedb.SerialSet, *req.Set
		zc.Comment = fmt.Sprintf("serial set to %d", *req.Set)
	}
	if req.Bump {
		n++
		zc.Comment = "serial bumped"
	}
	if req.Wrap {
		n++
		zc.Serial = zonedb.SerialWrap
		zc.Comment = "serial wrap step"
	}
	if n != 1 {
		return nil, usagef("give exactly one of --set N, --bump or --wrap")
	}
	res, err := s.commit(ctx, c, zc)
	if err != nil {
		return nil, err
	}
	out := &SerialResult{CommitResult: CommitResult{Commits: res}}
	if req.Wrap {
		out.Note = zonedb.SerialWrapNote
	}
	return out, nil
}

// ZoneRollback makes a new instance with the content of an older one (and a
// higher serial).
func (s *Service) ZoneRollback(ctx context.Context, c Caller, req ZoneRequest) (*CommitResult, error) {
	name, err := s.zoneAccess(c, req.Name)
	if err != nil {
		return nil, err
	}
	if req.ZI == 0 {
		return nil, usagef("give the zone instance to roll back to (see dms zone history %s)", name)
	}
	var recs []zonedb.Record
	var cur uint64
	err = s.read(c, func(v *zonedb.View) error {
		z, err := v.Zone(name)
		if err != nil {
			return err
		}
		cur = z.ZI
		recs, err = contentAt(v, z, req.ZI)
		return err
	})
	if err != nil {
		return nil, err
	}
	if cur == req.ZI {
		return nil, usagef("zone %s is at instance %d already", name, req.ZI)
	}
	res, err := s.commit(ctx, c, zonedb.ZoneChange{
		Zone: name, Replace: true, Records: recs, ExpectZI: cur, NewZI: true,
		Comment: fmt.Sprintf("rollback to instance %d", req.ZI),
	})
	if err != nil {
		return nil, err
	}
	return &CommitResult{Commits: res}, nil
}

// ZoneSetRefRequest moves a zone to another reference.
type ZoneSetRefRequest struct {
	Name string `json:"name"`
	Ref  string `json:"ref"`
}

// ZoneSetRef sets the zone's reference; the reference must exist.
func (s *Service) ZoneSetRef(ctx context.Context, c Caller, req ZoneSetRefRequest) (*CommitResult, error) {
	name, err := s.zoneAccess(c, req.Name)
	if err != nil {
		return nil, err
	}
	var ref string
	if err := s.read(c, func(v *zonedb.View) error {
		r, err := v.Ref(req.Ref)
		if err == nil {
			ref = r.Name
		}
		return err
	}); err != nil {
		return nil, fmt.Errorf("%w (create it with dms ref create %s)", err, req.Ref)
	}
	res, err := s.commit(ctx, c, zonedb.ZoneChange{Zone: name, Ref: ref, SetRef: true})
	if err != nil {
		return nil, err
	}
	return &CommitResult{Commits: res}, nil
}
