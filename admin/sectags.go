package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"dmsdns.org/dms/zonedb"
)

// Sectags: created and given to zones by admins only (the reference
// system's rule: no other sectag may see or change them).

// ErrForbidden marks an operation the caller's sectag may not perform.
var ErrForbidden = errors.New("forbidden")

// adminOnly refuses callers without the Admin sectag.
func adminOnly(c Caller, what string) error {
	if c.IsAdmin() {
		return nil
	}
	return fmt.Errorf("%w: only the Admin sectag may %s (the caller has %s)", ErrForbidden, what, c.Sectag)
}

// SectagRequest names a sectag.
type SectagRequest struct {
	Name string `json:"name"`
}

// SectagInfo is a sectag and how many zones carry it.
type SectagInfo struct {
	Name  string    `json:"name"`
	Zones int       `json:"zones"`
	CTime time.Time `json:"ctime,omitzero"`
}

// SectagCreate adds a sectag.
func (s *Service) SectagCreate(ctx context.Context, c Caller, req SectagRequest) (*SectagInfo, error) {
	if err := adminOnly(c, "create sectags"); err != nil {
		return nil, err
	}
	var st *zonedb.Sectag
	err := s.change(c, func(t *zonedb.Txn) error {
		var err error
		st, err = t.CreateSectag(strings.TrimSpace(req.Name))
		return err
	})
	if err != nil {
		return nil, err
	}
	return &SectagInfo{Name: st.Name, CTime: st.CTime}, nil
}

// SectagDelete deletes a sectag no zone carries.
func (s *Service) SectagDelete(ctx context.Context, c Caller, req SectagRequest) (*SectagInfo, error) {
	if err := adminOnly(c, "delete sectags"); err != nil {
		return nil, err
	}
	if err := s.change(c, func(t *zonedb.Txn) error { return t.DeleteSectag(strings.TrimSpace(req.Name)) }); err != nil {
		return nil, err
	}
	return &SectagInfo{Name: req.Name}, nil
}

// SectagList lists the sectags with their zone counts.
func (s *Service) SectagList(ctx context.Context, c Caller, _ struct{}) ([]SectagInfo, error) {
	if err := adminOnly(c, "list sectags"); err != nil {
		return nil, err
	}
	var out []SectagInfo
	err := s.read(c, func(v *zonedb.View) error {
		tags, counts, err := v.Sectags()
		for _, t := range tags {
			out = append(out, SectagInfo{Name: t.Name, CTime: t.CTime, Zones: counts[strings.ToLower(t.Name)]})
		}
		return err
	})
	return out, err
}

// ZoneSectagRequest changes a zone's sectags: Op is add, delete or
// replace.
type ZoneSectagRequest struct {
	Name    string   `json:"name"`
	Op      string   `json:"op,omitempty"`
	Sectags []string `json:"sectags,omitempty"`
}

// ZoneSectags is a zone's sectag list.
type ZoneSectags struct {
	Zone    string   `json:"zone"`
	Sectags []string `json:"sectags"`
}

// ZoneSectagList shows a zone's sectags.
func (s *Service) ZoneSectagList(ctx context.Context, c Caller, req ZoneSectagRequest) (*ZoneSectags, error) {
	if err := adminOnly(c, "see the sectags of zones"); err != nil {
		return nil, err
	}
	name, err := s.zoneName(c, req.Name)
	if err != nil {
		return nil, err
	}
	var out *ZoneSectags
	err = s.read(c, func(v *zonedb.View) error {
		z, err := v.Zone(name)
		if err != nil {
			return err
		}
		out = &ZoneSectags{Zone: z.Name, Sectags: append([]string{}, z.Sectags...)}
		return nil
	})
	return out, err
}

// ZoneSectagChange adds, deletes or replaces a zone's sectags (no new zone
// instance: the records do not change).
func (s *Service) ZoneSectagChange(ctx context.Context, c Caller, req ZoneSectagRequest) (*ZoneSectags, error) {
	if err := adminOnly(c, "change the sectags of zones"); err != nil {
		return nil, err
	}
	name, err := s.zoneName(c, req.Name)
	if err != nil {
		return nil, err
	}
	if len(req.Sectags) == 0 && req.Op != "replace" {
		return nil, usagef("give one or more sectags")
	}
	out := &ZoneSectags{Zone: name}
	_, err = s.commit(ctx, c, zonedb.ZoneChange{Zone: name, Update: func(z *zonedb.Zone) error {
		switch req.Op {
		case "add":
			z.Sectags = append(z.Sectags, req.Sectags...)
		case "delete":
			for _, t := range req.Sectags {
				if !z.HasSectag(t) {
					return usagef("zone %s does not carry sectag %s", name, t)
				}
				z.Sectags = deleteFold(z.Sectags, t)
			}
		case "replace":
			z.Sectags = append([]string(nil), req.Sectags...)
		default:
			return usagef("unknown sectag operation %q: add, delete or replace", req.Op)
		}
		out.Sectags = z.Sectags
		return nil
	}})
	if err != nil {
		return nil, err
	}
	// The commit sorted and checked them; read back what it kept.
	return s.ZoneSectagList(ctx, c, ZoneSectagRequest{Name: name})
}

func deleteFold(list []string, t string) []string {
	out := list[:0]
	for _, x := range list {
		if !strings.EqualFold(x, t) {
			out = append(out, x)
		}
	}
	return out
}
