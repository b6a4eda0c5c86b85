// Package zonedb is the dms store: one bbolt file holding every zone, its
// records and its history, the configuration and the reference table.
//
// # Reading and writing
//
// Reads go through a View (one bbolt read transaction). Readers never block
// the writer (bbolt MVCC). The query path keeps one View per worker and
// renews it when Generation moves, because a bbolt transaction per query
// takes a DB-wide mutex (DESIGN.md, "A query").
//
// dms serve also keeps a name index (nodeindex.go, EnableNodeIndex): every
// name of the rr bucket with its published RRsets, copied into a hash table
// in memory, so that a query finds its node in one probe instead of a
// B+tree descent. A View uses it only for the generation it sees; each
// commit hands the index the new state of the names it touched, once it
// is durable. The B+tree stays the store and answers whenever the index
// does not hold the View's generation (while it is built at start, or
// rebuilt after a large commit).
//
// The store has one write path, the commit transaction (Txn, txn.go),
// opened by DB.Change (DB.Commit applies a ChangeSet through it). Its
// methods are the changes: create a zone, replace its content, apply
// record operations, set keys, re-sign, set metadata, destroy; server
// groups, servers, TSIG keys, references, sectags, logins and config. The
// checks that decide whether a change is allowed run inside it, and it
// writes the records, the new zone instance (ZI) with its diff and serial,
// the signatures, the zone's metadata and the events naming who did it, or
// nothing at all. Only its door (door.go) writes the zone buckets
// (TestOneDoor), and with DB.KeepLog it keeps each commit's logical record
// (log.go), which DB.Replay applies to another store byte for byte. After
// the transaction is durable, the generation moves and the subscribers
// (NOTIFY, caches, metrics) get an Event; zonedb imports none of them.
//
// # Buckets and keys
//
// All integers are big endian, so keys sort numerically.
//
//	meta      "schema"     -> schema version, decimal text (SchemaVersion)
//	          "generation" -> commit generation (8 bytes)
//	          "created"    -> RFC 3339 time the store was made
//	          "notified_zi" -> every zone instance up to this id was
//	                          notified to the secondaries (8 bytes)
//	zonename  [view prefix] | name key | 0x00 -> zone id (8) | state (1)
//	          the view prefix (views.go) is 0x01 0x03 and the view id in two
//	          base-254 digits from 0x02, for zones outside the default view
//	          (whose keys, ZoneKey(name), have none: as before views).
//	          state bits: 1 deleted, 2 disabled, 4 catalog zone; 0 means
//	          served (catalog zones only to their SG's servers). The query
//	          path reads only this index; its longest-suffix match is a Get
//	          per label of the query name, whatever the number of zones.
//	zone      zone id (8) -> Zone as JSON (metadata, current ZI and serial)
//	view      lower-case view name -> ViewDef as JSON (id, order, rules);
//	          the default view is stored only once its rules or order are set
//	rr        zone id (8) | name key relative to the zone | 0x00 | type (2)
//	          -> one RRset: ttl (4) | count (2) | count × [flags (1) |
//	          reflen (1) | ref | rdlen (2) | uncompressed RDATA], RRs sorted by
//	          RDATA (codec.go). Keys sort in DNS canonical order (keys.go), apex
//	          first, so a zone is one cursor scan and "closest encloser" or
//	          "previous name" is a seek.
//	zi        zone id (8) | zi id (8) -> ZI as JSON (serial, change_by,
//	          ctime, ptime, counts, comment). zi ids come from one sequence
//	          for the whole store, so they also order instances in time.
//	zidiff    zone id (8) | zi id (8) | chunk (4) -> the RRs the instance
//	          removed and added, in chunks of about 64 KiB (diffcodec.go). The
//	          first instance of a zone (Base) has no diff.
//	config    key -> value text; absent keys take their defaults (admin).
//	ref       ref id (8) -> Reference as JSON
//	refname   lower-cased reference name -> ref id (8)
//	refzone   ref id (8) | zone id (8) -> empty (zones of a reference)
//	sg        lower-cased server group name -> SG as JSON (servers.go)
//	server    lower-cased server name -> Server as JSON
//	tsig      absolute lower-case key name -> TSIGKey as JSON
//	dkey      zone id (8) | key id (8) -> DNSSECKey as JSON (dnssec.go)
//	comment   an RRset key, as in rr -> Comment as JSON: the ";|" and ";#"
//	          comments zone text keeps with that RRset (comment.go). Not DNS
//	          data: no query, transfer, diff or serial reads it. Stores made
//	          before it have no such bucket until opened for writing.
//
// A signed zone's NSEC3 records are in rr under the name key 0x01 0xFF |
// raw hash | 0x00, which no owner name has (dnssec.go).
//
// A catalog zone (RFC 9432) is an ordinary zone with CatalogOf set; the
// commit transaction adds and removes its member PTR records in the
// transaction that changes a zone's server groups or state.
//
// Name keys (keys.go): the labels from the root down, each lowercased, with
// 0x00 and 0x01 escaped as 0x01 0x01 and 0x01 0x02, each followed by 0x00.
// bytes.Compare on name keys is RFC 4034 section 6.1 canonical order.
package zonedb
