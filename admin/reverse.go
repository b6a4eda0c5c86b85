package admin

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

// Reverse zones by network block and by address (RFC 1035 section 3.5
// in-addr.arpa, RFC 3596 section 2.5 ip6.arpa, RFC 2317 classless
// delegation for parts of a /24).

// ReverseZoneName is the reverse zone of a network block: IPv4 on an octet
// boundary (/8, /16, /24, /32), IPv6 on a nibble boundary (a multiple of
// 4). Anything else is an error that names the zones to create instead.
func ReverseZoneName(p netip.Prefix) (string, error) {
	a := p.Addr()
	if a.Is4In6() {
		a = a.Unmap()
		p = netip.PrefixFrom(a, p.Bits()-96)
	}
	if !p.IsValid() {
		return "", usagef("%s is not a network block", p)
	}
	// A block written with an address inside it (2001:db8:1:2::/56) is
	// the network that holds that address.
	p = p.Masked()
	step, kind := 8, "an octet"
	if a.Is6() {
		step, kind = 4, "a nibble"
	}
	if p.Bits()%step == 0 {
		return reverseLabels(a, p.Bits()/step), nil
	}
	down := netip.PrefixFrom(a, p.Bits()/step*step).Masked()
	up := p.Bits()/step*step + step
	msg := fmt.Sprintf("%s is not on %s boundary, which reverse zones follow: create the enclosing %s (%s)",
		p, kind, down, reverseLabels(down.Addr(), down.Bits()/step))
	if a.Is4() && p.Bits() > 24 {
		first := int(p.Addr().As4()[3])
		last := first + 1<<(32-p.Bits()) - 1
		parent := reverseLabels(down.Addr(), 3)
		msg += fmt.Sprintf(", or an RFC 2317 classless zone such as %d-%d.%s with CNAMEs to it in %s", first, last, parent, parent)
	} else {
		msg += fmt.Sprintf(", or the %d zones of its /%d networks", 1<<(up-p.Bits()), up)
	}
	return "", usagef("%s", msg)
}

// reverseLabels is the reverse name of the first n octets (IPv4) or
// nibbles (IPv6) of a.
func reverseLabels(a netip.Addr, n int) string {
	var b strings.Builder
	if a.Is4() {
		o := a.As4()
		for i := n - 1; i >= 0; i-- {
			b.WriteString(strconv.Itoa(int(o[i])))
			b.WriteByte('.')
		}
		b.WriteString("in-addr.arpa.")
		return b.String()
	}
	o := a.As16()
	for i := n - 1; i >= 0; i-- {
		nib := o[i/2] >> 4
		if i%2 == 1 {
			nib = o[i/2] & 0xf
		}
		b.WriteByte("0123456789abcdef"[nib])
		b.WriteByte('.')
	}
	b.WriteString("ip6.arpa.")
	return b.String()
}

// ReverseName is the PTR owner name of an address.
func ReverseName(a netip.Addr) string {
	a = a.Unmap()
	if a.Is4() {
		return reverseLabels(a, 4)
	}
	return reverseLabels(a, 32)
}

// reverseZoneFor finds the most specific served reverse zone covering a
// that ok accepts: for IPv4 an RFC 2317 classless zone below the /24 that
// covers the last octet, else the longest suffix of a's reverse name.
func reverseZoneFor(v *zonedb.View, a netip.Addr, ok func(*zonedb.Zone) bool) *zonedb.Zone {
	a = a.Unmap()
	if a.Is4() {
		var found *zonedb.Zone
		parent := reverseLabels(a, 3)
		last := int(a.As4()[3])
		_ = v.ZonesBelow(parent, func(z *zonedb.Zone) bool {
			label, _, _ := strings.Cut(z.Name, ".")
			if lo, hi, isRange := classlessRange(label); isRange && lo <= last && last <= hi && served(z) && ok(z) {
				found = z
				return false
			}
			return true
		})
		if found != nil {
			return found
		}
	}
	for name := ReverseName(a); ; {
		if id, isServed, exists := v.ZoneID(name); exists && isServed {
			if z, err := v.ZoneByID(id); err == nil && ok(z) {
				return z
			}
		}
		i, end := dns.NextLabel(name, 0)
		if end || name == "arpa." {
			return nil
		}
		name = name[i:]
	}
}

// served says whether a zone is served (not deleted, not disabled).
func served(z *zonedb.Zone) bool { return !z.Deleted && !z.Disabled }

// classlessRange reads an RFC 2317 zone's first label: "first-last" or
// "first/bits" (the forms of RFC 2317 and its common practice).
func classlessRange(label string) (lo, hi int, ok bool) {
	if a, b, found := strings.Cut(label, "-"); found {
		lo, err1 := strconv.Atoi(a)
		hi, err2 := strconv.Atoi(b)
		return lo, hi, err1 == nil && err2 == nil && 0 <= lo && lo <= hi && hi <= 255
	}
	if a, b, found := strings.Cut(label, "/"); found {
		lo, err1 := strconv.Atoi(a)
		bits, err2 := strconv.Atoi(b)
		if err1 != nil || err2 != nil || bits < 24 || bits > 32 || lo < 0 || lo > 255 {
			return 0, 0, false
		}
		return lo, lo + 1<<(32-bits) - 1, true
	}
	return 0, 0, false
}

// zoneName reads a zone argument: a domain name, a network block (its
// reverse zone), or an address (the most specific reverse zone covering
// it).
func (s *Service) zoneName(c Caller, arg string) (string, error) {
	arg = strings.TrimSpace(arg)
	if p, err := netip.ParsePrefix(arg); err == nil {
		return ReverseZoneName(p)
	}
	if a, err := netip.ParseAddr(arg); err == nil {
		var name string
		err := s.read(c, func(v *zonedb.View) error {
			z := reverseZoneFor(v, a, served)
			if z == nil {
				return fmt.Errorf("%w: no reverse zone covers %s (%s): create one with dms zone create and the network, for example %s",
					zonedb.ErrZoneNotFound, a, ReverseName(a), exampleNetwork(a))
			}
			name = z.Name
			return nil
		})
		return name, err
	}
	return zoneName(arg)
}

// newZoneName reads the name of a zone to create: a domain name or a
// network block, never an address.
func (s *Service) newZoneName(arg string) (string, error) {
	if a, err := netip.ParseAddr(strings.TrimSpace(arg)); err == nil {
		return "", usagef("%s is an address, not a network: give the network of the reverse zone, for example %s", a, exampleNetwork(a))
	}
	return s.zoneName(Caller{}, arg)
}

func exampleNetwork(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	if a.Is4() {
		return netip.PrefixFrom(a, 24).Masked()
	}
	return netip.PrefixFrom(a, 48).Masked()
}
