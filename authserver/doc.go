// Package authserver answers DNS queries from the store: UDP and TCP
// listeners, zone selection by longest suffix, the RFC 1034 section 4.3.2
// lookup with RFC 4592 wildcards and RFC 6672 DNAME, and packing. It reads
// zonedb views (one held per worker, renewed when the commit generation
// moves) and never imports admin or xfr. See DESIGN.md, "A query".
package authserver
