package admin

import (
	"context"
	"path"
	"slices"
	"strings"
	"time"

	"dmsdns.org/dms/zonedb"
)

// RefRequest names a reference (and, to rename, its new name).
type RefRequest struct {
	Name    string `json:"name"`
	NewName string `json:"new_name,omitempty"`
}

// RefInfo is a reference with the number of zones using it.
type RefInfo struct {
	Name  string    `json:"name"`
	Zones int       `json:"zones"`
	CTime time.Time `json:"ctime,omitzero"`
}

// RefCreate adds a reference.
func (s *Service) RefCreate(ctx context.Context, c Caller, req RefRequest) (*RefInfo, error) {
	var r *zonedb.Reference
	err := s.change(c, func(t *zonedb.Txn) error {
		var err error
		r, err = t.CreateRef(req.Name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &RefInfo{Name: r.Name, CTime: r.CTime}, nil
}

// RefRename renames a reference; its zones follow.
func (s *Service) RefRename(ctx context.Context, c Caller, req RefRequest) (*RefInfo, error) {
	if req.NewName == "" {
		return nil, usagef("give the new name")
	}
	if err := s.change(c, func(t *zonedb.Txn) error { return t.RenameRef(req.Name, req.NewName) }); err != nil {
		return nil, err
	}
	return &RefInfo{Name: req.NewName}, nil
}

// RefDelete deletes a reference that no zone uses.
func (s *Service) RefDelete(ctx context.Context, c Caller, req RefRequest) (*RefInfo, error) {
	if err := s.change(c, func(t *zonedb.Txn) error { return t.DeleteRef(req.Name) }); err != nil {
		return nil, err
	}
	return &RefInfo{Name: req.Name}, nil
}

// RefListRequest filters references by shell patterns (case-insensitive).
type RefListRequest struct {
	Patterns []string `json:"patterns,omitempty"`
}

// RefList lists references with their zone counts.
func (s *Service) RefList(ctx context.Context, c Caller, req RefListRequest) ([]RefInfo, error) {
	for _, p := range req.Patterns {
		if _, err := path.Match(strings.ToLower(p), ""); err != nil {
			return nil, usagef("bad pattern %q: %v", p, err)
		}
	}
	out := []RefInfo{}
	err := s.read(c, func(v *zonedb.View) error {
		refs, counts, err := v.Refs()
		if err != nil {
			return err
		}
		if !c.IsAdmin() {
			// Only the references of the caller's zones, counted by them.
			counts = map[uint64]int{}
			_ = v.Zones(func(z *zonedb.Zone) bool {
				if z.HasSectag(c.Sectag) && z.RefID != 0 {
					counts[z.RefID]++
				}
				return true
			})
			refs = slices.DeleteFunc(refs, func(r zonedb.Reference) bool { return counts[r.ID] == 0 })
		}
		for _, r := range refs {
			if len(req.Patterns) > 0 && !slices.ContainsFunc(req.Patterns, func(p string) bool {
				ok, _ := path.Match(strings.ToLower(p), strings.ToLower(r.Name))
				return ok
			}) {
				continue
			}
			out = append(out, RefInfo{Name: r.Name, Zones: counts[r.ID], CTime: r.CTime})
		}
		return nil
	})
	return out, err
}

func validRef(s string) bool { return zonedb.ValidReference(s) }

// ConfigEntry is one configuration key with its value and default.
type ConfigEntry struct {
	ConfigKey
	Value string `json:"value"`
	IsSet bool   `json:"set"`
}

// ConfigShow lists every configuration key.
func (s *Service) ConfigShow(ctx context.Context, c Caller, _ struct{}) ([]ConfigEntry, error) {
	var out []ConfigEntry
	err := s.read(c, func(v *zonedb.View) error {
		stored := v.Config()
		for _, k := range zonedb.ConfigKeys() {
			val, ok := stored[k.Name]
			if !ok {
				val = k.Default
			}
			out = append(out, ConfigEntry{ConfigKey: k, Value: val, IsSet: ok})
		}
		return nil
	})
	return out, err
}

// ConfigSetRequest sets one key; an empty value restores the default.
type ConfigSetRequest struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// ConfigSet validates and stores one configuration value.
func (s *Service) ConfigSet(ctx context.Context, c Caller, req ConfigSetRequest) (*ConfigEntry, error) {
	v, err := normalizeConfig(req.Key, req.Value)
	if err != nil {
		return nil, err
	}
	if err := s.change(c, func(t *zonedb.Txn) error { return t.SetConfig(map[string]string{req.Key: v}) }); err != nil {
		return nil, err
	}
	k, _ := lookupKey(req.Key)
	if v == "" {
		v = k.Default
	}
	return &ConfigEntry{ConfigKey: k, Value: v, IsSet: v != k.Default}, nil
}
