package zonedb

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
	bolt "go.etcd.io/bbolt"
)

// Views (split horizon, as BIND's view statements): a view is a named,
// ordered set of match rules on the client (its source address, the TSIG
// key of a signed request) and owns zones. The same zone name may exist in
// several views, each a zone of its own (id, records, history, keys). A
// query, a transfer and an UPDATE are answered from the first view, in
// order, whose rules match the client; one that matches none is refused.
//
// The default view (id 0) always exists: it holds every zone made without
// a view, matches every client unless its rules are set, and comes last
// unless its order is set. A store without views (every store before
// schema 3) is the default view alone and is read exactly as before: the
// default view's zones keep their keys in the name index, and a zone of
// another view has its key behind a view prefix (viewPrefix) that no name
// key can begin with, so that finding a query's zone is still one index
// seek per label.

// DefaultView is the name of the view of zones made without one.
const DefaultView = "default"

// maxViewID bounds view ids: the two prefix digits are base 254.
const maxViewID = 254*254 - 1

// ViewDef is a view.
type ViewDef struct {
	Name string `json:"name"`
	ID   uint16 `json:"id"`
	// Order sorts the views: the first whose rules match a client is its
	// view (ties by name).
	Order int `json:"order"`
	// Match are the rules in order (BIND's match-clients): an address or
	// prefix, "key:NAME" for requests signed with that TSIG key, "any",
	// "none", each negated by a leading "!". The first rule that fits the
	// client decides: a plain one matches, a negated one excludes. When
	// none fits, the view does not match. Empty: any.
	Match []string  `json:"match,omitempty"`
	CTime time.Time `json:"ctime,omitzero"`
	MTime time.Time `json:"mtime,omitzero"`
}

// Errors of views.
var (
	ErrViewNotFound = errors.New("view not found")
	ErrViewExists   = errors.New("view already exists")
	ErrViewInUse    = errors.New("view is in use")
)

// defaultViewOrder places the default view last unless its order is set.
const defaultViewOrder = 1 << 30

// viewPrefix is the name-index key prefix of a view's zones: none for the
// default view, else 0x01 0x03 and the id in two base-254 digits from
// 0x02. A name key never begins with 0x01 0x03 (0x01 in a label is
// escaped as 0x01 0x01 or 0x01 0x02) and the prefix holds no 0x00, the
// name key's label end.
func viewPrefix(id uint16) []byte {
	if id == 0 {
		return nil
	}
	return []byte{0x01, 0x03, byte(2 + id/254), byte(2 + id%254)}
}

// viewKey is the views bucket's key of a view name.
func viewKey(name string) []byte { return []byte(strings.ToLower(name)) }

// ValidViewName says whether name can name a view: up to 32 letters,
// digits and -_, starting with a letter.
func ValidViewName(name string) bool {
	if name == "" || len(name) > 32 || !(name[0] >= 'a' && name[0] <= 'z' || name[0] >= 'A' && name[0] <= 'Z') {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// viewRule is one compiled match rule.
type viewRule struct {
	neg    bool
	any    bool
	none   bool
	key    string // a TSIG key name, absolute, lower case
	prefix netip.Prefix
}

func parseViewRule(s string) (viewRule, error) {
	var r viewRule
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "!") {
		r.neg, t = true, strings.TrimSpace(t[1:])
	}
	switch lt := strings.ToLower(t); {
	case lt == "any":
		r.any = true
	case lt == "none":
		r.none = true
	case strings.HasPrefix(lt, "key:"):
		name := strings.TrimSpace(lt[4:])
		if _, ok := dns.IsDomainName(name); !ok || name == "" {
			return r, fmt.Errorf("%w: match rule %q: %q is not a key name", ErrBadInput, s, name)
		}
		r.key = dns.CanonicalName(name)
	default:
		p, err := netip.ParsePrefix(t)
		if err != nil {
			a, aerr := netip.ParseAddr(t)
			if aerr != nil {
				return r, fmt.Errorf("%w: match rule %q: want an address, a prefix (10.0.0.0/8), key:NAME, any or none, each perhaps after !", ErrBadInput, s)
			}
			a = a.Unmap()
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		r.prefix = p.Masked()
	}
	return r, nil
}

// String is the rule as dms prints it (and reads it back).
func (r viewRule) String() string {
	var s string
	switch {
	case r.any:
		s = "any"
	case r.none:
		s = "none"
	case r.key != "":
		s = "key:" + r.key
	default:
		s = r.prefix.String()
	}
	if r.neg {
		return "!" + s
	}
	return s
}

// fits says whether the rule's element fits the client (before negation).
func (r *viewRule) fits(addr netip.Addr, key string) bool {
	switch {
	case r.any:
		return true
	case r.none:
		return false
	case r.key != "":
		return key != "" && strings.EqualFold(r.key, key)
	default:
		return r.prefix.Contains(addr)
	}
}

// NormalizeViewRules checks rules and returns them as dms keeps them.
func NormalizeViewRules(rules []string) ([]string, error) {
	out := make([]string, 0, len(rules))
	for _, s := range rules {
		r, err := parseViewRule(s)
		if err != nil {
			return nil, err
		}
		out = append(out, r.String())
	}
	return out, nil
}

// ViewTable is the views compiled for matching clients, in order.
type ViewTable struct {
	views []compiledView
	byKey map[string]bool // the TSIG keys rules name
}

type compiledView struct {
	name  string
	id    uint16
	rules []viewRule
}

// Trivial says whether the table is the default view matching every
// client: the query path then skips matching.
func (t *ViewTable) Trivial() bool {
	return t == nil || len(t.views) == 1 && t.views[0].id == 0 && (len(t.views[0].rules) == 0)
}

// Match returns the view of a client at addr whose request is signed with
// the TSIG key named key ("" when unsigned): the first view whose rules
// match. ok is false when none does.
func (t *ViewTable) Match(addr netip.Addr, key string) (id uint16, name string, ok bool) {
	if t.Trivial() {
		return 0, DefaultView, true
	}
	addr = addr.Unmap()
	for i := range t.views {
		cv := &t.views[i]
		if len(cv.rules) == 0 {
			return cv.id, cv.name, true
		}
		for j := range cv.rules {
			r := &cv.rules[j]
			if r.fits(addr, key) {
				if !r.neg {
					return cv.id, cv.name, true
				}
				break
			}
		}
	}
	return 0, "", false
}

// Views returns every view in order, the default view included.
func (v *View) Views() ([]ViewDef, error) { return listViews(v.tx) }

func listViews(tx *bolt.Tx) ([]ViewDef, error) {
	var out []ViewDef
	hasDefault := false
	b := tx.Bucket(bucketViews)
	if b != nil {
		if err := b.ForEach(func(k, val []byte) error {
			var vd ViewDef
			if err := json.Unmarshal(val, &vd); err != nil {
				return fmt.Errorf("view %s: corrupt: %w", k, err)
			}
			hasDefault = hasDefault || vd.ID == 0
			out = append(out, vd)
			return nil
		}); err != nil {
			return nil, err
		}
	}
	if !hasDefault {
		out = append(out, ViewDef{Name: DefaultView, Order: defaultViewOrder})
	}
	slices.SortFunc(out, func(a, b ViewDef) int {
		if a.Order != b.Order {
			return a.Order - b.Order
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

// ViewTable compiles the views for matching.
func (v *View) ViewTable() (*ViewTable, error) {
	views, err := v.Views()
	if err != nil {
		return nil, err
	}
	t := &ViewTable{byKey: map[string]bool{}}
	for _, vd := range views {
		cv := compiledView{name: vd.Name, id: vd.ID}
		for _, s := range vd.Match {
			r, err := parseViewRule(s)
			if err != nil {
				return nil, fmt.Errorf("view %s: %w", vd.Name, err)
			}
			if r.key != "" {
				t.byKey[r.key] = true
			}
			cv.rules = append(cv.rules, r)
		}
		t.views = append(t.views, cv)
	}
	return t, nil
}

// ViewByName returns the view called name ("" is the default view).
func (v *View) ViewByName(name string) (*ViewDef, error) { return getView(v.tx, name) }

func getView(tx *bolt.Tx, name string) (*ViewDef, error) {
	if name == "" {
		name = DefaultView
	}
	if b := tx.Bucket(bucketViews); b != nil {
		if val := b.Get(viewKey(name)); val != nil {
			vd := new(ViewDef)
			if err := json.Unmarshal(val, vd); err != nil {
				return nil, fmt.Errorf("view %s: corrupt: %w", name, err)
			}
			return vd, nil
		}
	}
	if strings.EqualFold(name, DefaultView) {
		return &ViewDef{Name: DefaultView, Order: defaultViewOrder}, nil
	}
	return nil, fmt.Errorf("%w: %s (see dms view ls)", ErrViewNotFound, name)
}

// viewName is the name an SG keeps for its view, and a commit's result
// shows: "" for the default.
func viewName(vd *ViewDef) string {
	if vd.ID == 0 {
		return ""
	}
	return vd.Name
}

// CreateView makes a view; order 0 places it after every other view but
// the default one.
func (t *Txn) CreateView(name string, match []string, order int) (*ViewDef, error) {
	if !ValidViewName(name) {
		return nil, fmt.Errorf("%w: %q is not a valid view name (up to 32 letters, digits, - and _, starting with a letter)", ErrBadInput, name)
	}
	if _, err := getView(t.tx, name); err == nil {
		return nil, fmt.Errorf("%w: %s", ErrViewExists, name)
	}
	rules, err := NormalizeViewRules(match)
	if err != nil {
		return nil, err
	}
	seq, err := t.nextViewID()
	if err != nil {
		return nil, err
	}
	if seq > maxViewID {
		return nil, fmt.Errorf("%w: no view ids left (%d made)", ErrBadInput, maxViewID)
	}
	if order == 0 {
		views, err := listViews(t.tx)
		if err != nil {
			return nil, err
		}
		for _, vd := range views {
			if vd.ID != 0 || vd.Order != defaultViewOrder {
				order = max(order, vd.Order+1)
			}
		}
		order = max(order, 1)
	}
	vd := &ViewDef{Name: name, ID: uint16(seq), Order: order, Match: rules, CTime: t.now.UTC(), MTime: t.now.UTC()}
	t.Event(LogEvent{Kind: EventView, Message: fmt.Sprintf("view %s created: order %d, match %s", name, order, matchText(rules))})
	return vd, t.putObjectJSON(objView, viewKey(name), vd)
}

// matchText is a view's rules for an event, key names spelled as every
// output of dms spells them (KeyName).
func matchText(rules []string) string {
	if len(rules) == 0 {
		return "any"
	}
	out := make([]string, len(rules))
	for i, r := range rules {
		rest, neg := strings.CutPrefix(r, "!")
		if name, ok := strings.CutPrefix(rest, "key:"); ok {
			rest = "key:" + KeyName(name)
		}
		if neg {
			rest = "!" + rest
		}
		out[i] = rest
	}
	return strings.Join(out, " ")
}

// SetView changes a view's rules (when match is not nil) and order (when
// order is not nil).
func (t *Txn) SetView(name string, match []string, order *int) (*ViewDef, error) {
	vd, err := getView(t.tx, name)
	if err != nil {
		return nil, err
	}
	old := *vd
	if match != nil {
		if vd.Match, err = NormalizeViewRules(match); err != nil {
			return nil, err
		}
	}
	if order != nil {
		vd.Order = *order
	}
	if vd.CTime.IsZero() {
		vd.CTime = t.now.UTC()
	}
	vd.MTime = t.now.UTC()
	t.Event(LogEvent{Kind: EventView, Message: fmt.Sprintf("view %s: order %d -> %d, match %s -> %s",
		vd.Name, old.Order, vd.Order, matchText(old.Match), matchText(vd.Match))})
	return vd, t.putObjectJSON(objView, viewKey(vd.Name), vd)
}

// DeleteView removes a view that holds no zone and no server group.
func (t *Txn) DeleteView(name string) error {
	vd, err := getView(t.tx, name)
	if err != nil {
		return err
	}
	if vd.ID == 0 {
		return fmt.Errorf("%w: the default view cannot be deleted", ErrViewInUse)
	}
	n := 0
	_ = t.View().ZonesIn(vd.Name, func(z *Zone) bool {
		if z.CatalogOf == "" { // an SG's catalog goes with the SG
			n++
		}
		return true
	})
	if n > 0 {
		return fmt.Errorf("%w: view %s has %d zone(s) (deleted ones too); destroy them first", ErrViewInUse, vd.Name, n)
	}
	sgs, err := t.View().SGs()
	if err != nil {
		return err
	}
	for _, sg := range sgs {
		if strings.EqualFold(sg.View, vd.Name) {
			return fmt.Errorf("%w: server group %s is in view %s; delete it first", ErrViewInUse, sg.Name, vd.Name)
		}
	}
	t.Event(LogEvent{Kind: EventView, Message: "view " + vd.Name + " deleted"})
	return t.putObject(objView, viewKey(vd.Name), nil)
}

// ZonesIn calls fn for every zone of the view (by name; "" the default),
// in canonical order, until fn returns false: one prefix scan.
func (v *View) ZonesIn(view string, fn func(z *Zone) bool) error {
	vd, err := getView(v.tx, view)
	if err != nil {
		return err
	}
	c := v.tx.Bucket(bucketZoneNames).Cursor()
	p := viewPrefix(vd.ID)
	for k, val := c.Seek(p); k != nil; k, val = c.Next() {
		if vd.ID != 0 && !hasPrefix(k, p) {
			break
		}
		if vd.ID == 0 && isViewKey(k) {
			continue // another view's
		}
		z, err := getZone(v.tx, u64(val[:8]), true)
		if err != nil {
			return err
		}
		if !fn(z) {
			break
		}
	}
	return nil
}

// isViewKey says whether a name-index key is of a zone outside the
// default view.
func isViewKey(k []byte) bool { return len(k) >= 2 && k[0] == 0x01 && k[1] == 0x03 }

func hasPrefix(k, p []byte) bool { return len(k) >= len(p) && string(k[:len(p)]) == string(p) }

// UseView makes the view's zone lookups (FindZone, FindZoneWire, ZoneID)
// find the zones of view id (0: the default view).
func (v *View) UseView(id uint16) {
	v.zviewID = id
	if id == 0 {
		v.zprefix = nil
		return
	}
	v.zpbuf = [4]byte{0x01, 0x03, byte(2 + id/254), byte(2 + id%254)}
	v.zprefix = v.zpbuf[:] // no allocation on the query path
}

// UseViewNamed is UseView by the view's name ("": the default view).
func (v *View) UseViewNamed(name string) error {
	vd, err := getView(v.tx, name)
	if err != nil {
		return err
	}
	v.UseView(vd.ID)
	return nil
}

// ViewID is the view UseView set.
func (v *View) ViewID() uint16 { return v.zviewID }

// ZoneIn returns the zone called name in the view called view ("": the
// default view).
func (v *View) ZoneIn(view, name string) (*Zone, error) {
	vd, err := getView(v.tx, view)
	if err != nil {
		return nil, err
	}
	return v.zoneInView(vd.ID, name)
}

// zoneInView finds zone name in view id: one Get in the name index.
func (v *View) zoneInView(id uint16, name string) (*Zone, error) {
	cn, err := CanonicalZoneName(name)
	if err != nil {
		return nil, err
	}
	k, err := zoneKeyIn(id, cn)
	if err != nil {
		return nil, err
	}
	val := v.tx.Bucket(bucketZoneNames).Get(k)
	if val == nil {
		if id != 0 {
			return nil, fmt.Errorf("%w: %s in this view", ErrZoneNotFound, cn)
		}
		return nil, fmt.Errorf("%w: %s", ErrZoneNotFound, cn)
	}
	return v.ZoneByID(u64(val[:8]))
}

// zoneKeyIn is the name-index key of zone name in view id.
func zoneKeyIn(id uint16, name string) ([]byte, error) {
	k, err := AppendNameKey(viewPrefix(id), name, "")
	if err != nil {
		return nil, err
	}
	return append(k, 0), nil
}

// viewLabel names a view for messages ("" is the default view).
func viewLabel(name string) string {
	if name == "" {
		return DefaultView
	}
	return name
}

// key is the zone's name-index key.
func (z *Zone) key() ([]byte, error) { return zoneKeyIn(z.ViewID, z.Name) }

// Label is the zone's name with its view when that is not the default
// one: "example.com." or "example.com. (view internal)".
func (z *Zone) Label() string {
	if z.View == "" || z.View == DefaultView {
		return z.Name
	}
	return z.Name + " (view " + z.View + ")"
}
