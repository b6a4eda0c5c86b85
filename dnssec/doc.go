// Package dnssec signs zones online: keys in the store, reproducible
// RRSIGs made at commit, NSEC3 chains and denial proofs, DS/CDS/CDNSKEY.
// See DESIGN.md, "DNSSEC: online signing with NSEC3".
package dnssec
