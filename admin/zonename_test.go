package admin

import "testing"

// TestZoneNameFor: a zone file loaded without --name is named by what it
// says ($ORIGIN before its first record, an absolute SOA owner), else by
// its file name's convention.
func TestZoneNameFor(t *testing.T) {
	soa := "@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
	for _, c := range []struct{ file, text, want, from string }{
		{"/etc/bind/db.shop.example", soa, "shop.example", "the file name db.shop.example"},
		{"zones/shop.example.zone", soa, "shop.example", "the file name shop.example.zone"},
		{"shop.example.db", soa, "shop.example", "the file name shop.example.db"},
		{"shop.example", soa, "shop.example", "the file name shop.example"},
		{"shop.example.", soa, "shop.example.", "the file name shop.example."},
		{"db.", soa, "db.", "the file name db."},
		{"zone.txt", "; a comment\n$TTL 3600\n$ORIGIN shop.example.\n" + soa, "shop.example.", "the $ORIGIN in zone.txt"},
		{"zone.txt", "$TTL 1h\nshop.example. 3600 IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n", "shop.example.", "the SOA owner in zone.txt"},
		{"db.other.example", "shop.example.\tIN\tSOA ns1 hostmaster ( 1 7200\n 3600 1209600 300 )\n", "shop.example.", "the SOA owner in db.other.example"},
		// A relative $ORIGIN or owner says nothing; a later $ORIGIN is a
		// subdomain's.
		{"db.shop.example", "$ORIGIN sub\n" + soa, "shop.example", "the file name db.shop.example"},
		{"db.shop.example", soa + "$ORIGIN sub.shop.example.\nwww IN A 192.0.2.1\n", "shop.example", "the file name db.shop.example"},
		{"db.shop.example", "www.shop.example. IN A 192.0.2.1\n", "shop.example", "the file name db.shop.example"},
	} {
		name, from := ZoneNameFor(c.file, c.text)
		if name != c.want || from != c.from {
			t.Errorf("%s: %q from %q, want %q from %q", c.file, name, from, c.want, c.from)
		}
	}
}
