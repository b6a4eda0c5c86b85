// Package xfr feeds secondaries: AXFR and IXFR out from one read
// transaction and the zone-instance journal, NOTIFY after commits with
// retries, catalog zones, and polling of the secondaries' serials. See
// DESIGN.md, "Transfers and NOTIFY".
package xfr
