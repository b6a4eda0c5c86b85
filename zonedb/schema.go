package zonedb

// Bucket names and the schema version: the whole on-disk layout is named in
// this one file (see doc.go for what each bucket holds).

// SchemaVersion is the layout version this build writes. A store with a
// higher version is refused; a lower one is migrated at open (migrate.go).
// Version 2: signed zones whose NSEC3 chain a version-1 dms broke are
// marked for a rebuild (Zone.RebuildChain).
// Version 3: views (split horizon): the views bucket; every existing
// zone is in the default view, whose keys are those of version 2, so the
// migration only adds the bucket.
const SchemaVersion = 3

var (
	bucketMeta      = []byte("meta")
	bucketZoneNames = []byte("zonename")
	bucketZones     = []byte("zone")
	bucketRR        = []byte("rr")
	bucketZI        = []byte("zi")
	bucketZIDiff    = []byte("zidiff")
	bucketConfig    = []byte("config")
	bucketRefs      = []byte("ref")
	bucketRefNames  = []byte("refname")
	bucketRefZones  = []byte("refzone")
	bucketSGs       = []byte("sg")
	bucketServers   = []byte("server")
	bucketTSIG      = []byte("tsig")
	// bucketDNSSECKeys: zone id (8) | key id (8) -> DNSSECKey as JSON.
	bucketDNSSECKeys = []byte("dkey")
	// bucketSectags: lower-case name -> Sectag as JSON.
	bucketSectags = []byte("sectag")
	// bucketEvents: id (8) -> Event as JSON.
	bucketEvents = []byte("event")
	// bucketAPIUsers: lower-case login -> APIUser as JSON.
	bucketAPIUsers = []byte("apiuser")
	// bucketComments: RRset key (as in rr) -> Comment as JSON (comment.go).
	// Apart from rr so that queries and transfers never read it.
	bucketComments = []byte("comment")
	// bucketViews: lower-case view name -> ViewDef as JSON (views.go).
	bucketViews = []byte("view")
)

var allBuckets = [][]byte{
	bucketMeta, bucketZoneNames, bucketZones, bucketRR, bucketZI, bucketZIDiff,
	bucketConfig, bucketRefs, bucketRefNames, bucketRefZones, bucketSGs,
	bucketServers, bucketTSIG, bucketDNSSECKeys, bucketSectags, bucketEvents, bucketAPIUsers,
	bucketComments, bucketViews,
}

var (
	keySchema     = []byte("schema")
	keyGeneration = []byte("generation")
	keyCreated    = []byte("created")
	keyNotified   = []byte("notified_zi")
	keyBackup     = []byte("last_backup")
	keyApplied    = []byte("applied")
)

// zone name index values: id (8 bytes) | state (1 byte).
const (
	zoneStateDeleted  = 1 << 0
	zoneStateDisabled = 1 << 1
	// zoneStateCatalog: a catalog zone, answered only to the servers that
	// may transfer it (View.ServeCatalogs).
	zoneStateCatalog = 1 << 2
)
