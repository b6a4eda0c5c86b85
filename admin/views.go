package admin

import (
	"context"
	"strings"

	"dmsdns.org/dms/zonedb"
)

// Views (split horizon): the operations on views; zonedb/views.go has the
// model. A caller names a view for its zones with Caller.View.

// ViewRequest names a view and, for create and set, its rules and order.
type ViewRequest struct {
	Name string `json:"name"`
	// Match are the view's rules in order (see zonedb.ViewDef); on set,
	// nil keeps them and an empty list makes the view match everyone.
	Match *[]string `json:"match,omitempty"`
	// Order places the view (the first that matches a client is its
	// view); 0 on create: after every other view but the default.
	Order *int `json:"order,omitempty"`
}

// ViewInfo is a view with the number of its zones and server groups.
type ViewInfo struct {
	zonedb.ViewDef
	Zones int      `json:"zones"`
	SGs   []string `json:"sgs,omitempty"`
}

// ViewCreate makes a view.
func (s *Service) ViewCreate(ctx context.Context, c Caller, req ViewRequest) (*ViewInfo, error) {
	if err := adminOnly(c, "create views"); err != nil {
		return nil, err
	}
	var match []string
	if req.Match != nil {
		match = *req.Match
	}
	order := 0
	if req.Order != nil {
		order = *req.Order
	}
	err := s.change(c, func(t *zonedb.Txn) error {
		_, err := t.CreateView(strings.TrimSpace(req.Name), match, order)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.ViewShow(ctx, c, ViewRequest{Name: req.Name})
}

// ViewSet changes a view's rules or order.
func (s *Service) ViewSet(ctx context.Context, c Caller, req ViewRequest) (*ViewInfo, error) {
	if err := adminOnly(c, "change views"); err != nil {
		return nil, err
	}
	if req.Match == nil && req.Order == nil {
		return nil, usagef("nothing to change: give --match, --match-any or --order")
	}
	var match []string
	if req.Match != nil {
		match = append([]string{}, *req.Match...)
	}
	err := s.change(c, func(t *zonedb.Txn) error {
		_, err := t.SetView(req.Name, match, req.Order)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.ViewShow(ctx, c, ViewRequest{Name: req.Name})
}

// ViewDelete removes a view without zones or server groups.
func (s *Service) ViewDelete(ctx context.Context, c Caller, req ViewRequest) (*ViewInfo, error) {
	if err := adminOnly(c, "delete views"); err != nil {
		return nil, err
	}
	info, err := s.ViewShow(ctx, c, req)
	if err != nil {
		return nil, err
	}
	return info, s.change(c, func(t *zonedb.Txn) error { return t.DeleteView(req.Name) })
}

// ViewShow is one view.
func (s *Service) ViewShow(ctx context.Context, c Caller, req ViewRequest) (*ViewInfo, error) {
	if err := adminOnly(c, "see views"); err != nil {
		return nil, err
	}
	var out *ViewInfo
	err := s.db.View(func(v *zonedb.View) error {
		vd, err := v.ViewByName(strings.TrimSpace(req.Name))
		if err != nil {
			return err
		}
		out, err = viewInfo(v, *vd)
		return err
	})
	return out, err
}

// ViewList is every view in the order clients are matched.
func (s *Service) ViewList(ctx context.Context, c Caller, _ struct{}) ([]ViewInfo, error) {
	if err := adminOnly(c, "list views"); err != nil {
		return nil, err
	}
	var out []ViewInfo
	err := s.db.View(func(v *zonedb.View) error {
		views, err := v.Views()
		if err != nil {
			return err
		}
		for _, vd := range views {
			info, err := viewInfo(v, vd)
			if err != nil {
				return err
			}
			out = append(out, *info)
		}
		return nil
	})
	return out, err
}

func viewInfo(v *zonedb.View, vd zonedb.ViewDef) (*ViewInfo, error) {
	vd.Match = viewRulesOut(vd.Match)
	info := &ViewInfo{ViewDef: vd}
	if err := v.ZonesIn(vd.Name, func(z *zonedb.Zone) bool {
		if z.CatalogOf == "" {
			info.Zones++
		}
		return true
	}); err != nil {
		return nil, err
	}
	sgs, err := v.SGs()
	if err != nil {
		return nil, err
	}
	for _, sg := range sgs {
		if strings.EqualFold(cmpOr(sg.View, zonedb.DefaultView), vd.Name) {
			info.SGs = append(info.SGs, sg.Name)
		}
	}
	return info, nil
}

// viewRulesOut are a view's rules for output: a key:NAME rule names its
// key as every output does (KeyName); dms reads either spelling back.
func viewRulesOut(rules []string) []string {
	out := make([]string, 0, len(rules))
	for _, r := range rules {
		neg, rest := "", r
		if strings.HasPrefix(rest, "!") {
			neg, rest = "!", rest[1:]
		}
		if name, ok := strings.CutPrefix(rest, "key:"); ok {
			r = neg + "key:" + zonedb.KeyName(name)
		}
		out = append(out, r)
	}
	if rules == nil {
		return nil
	}
	return out
}
