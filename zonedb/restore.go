package zonedb

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// RestoreReport says what a restore did.
type RestoreReport struct {
	From   string        `json:"from"`
	To     string        `json:"to"`
	Backup *VerifyReport `json:"backup"`
	// Kept is where the replaced store went ("" when there was none).
	Kept string `json:"kept,omitempty"`
	// Bumped are the zones whose serial went above what the replaced store
	// had served (its secondaries have that), so they transfer the
	// restored content instead of keeping a newer one.
	Bumped []SerialBump `json:"bumped,omitempty"`
	// Missing are zones of the replaced store that the backup does not
	// hold (made after it): they are gone.
	Missing []string `json:"missing,omitempty"`
	// Applied is the cluster log entry the backup holds (0: not a cluster
	// node's store). A node's store is not bumped: the cluster's log is the
	// authority, and the node catches up from this entry.
	Applied uint64 `json:"applied,omitempty"`
}

// SerialBump is one zone's serial after a restore.
type SerialBump struct {
	Zone string `json:"zone"`
	View string `json:"view,omitempty"`
	// Backup is the restored serial, Served what the replaced store had,
	// Serial the new one.
	Backup uint32 `json:"backup"`
	Served uint32 `json:"served"`
	Serial uint32 `json:"serial"`
	// Note says why the serial could not be moved, if so.
	Note string `json:"note,omitempty"`
}

// ErrStoreBusy is returned when a store to replace is open in a running
// dms.
var ErrStoreBusy = errors.New("store in use")

// servedZone is a zone as the replaced store served it.
type servedZone struct {
	serial uint32
	zi     uint64
}

// Restore replaces the store at dst with the backup at src, as changeBy.
// It verifies src first and refuses a broken one, and refuses while dst is
// open in another process (a running dms serve holds its lock); nothing is
// replaced then. The store it replaces is kept beside it as
// dst.before-restore-TIMESTAMP. Each zone whose restored instance is not
// the one the replaced store served gets a new serial above the served
// one, so secondaries, which hold that serial, transfer the restored
// content instead of ignoring it as older.
// prepare, when set, readies the restored store for commits (installs the
// signer a signed zone's new serial needs).
func Restore(src, dst, changeBy string, now time.Time, prepare func(*DB)) (*RestoreReport, error) {
	rep := &RestoreReport{From: src, To: dst}
	vr, err := VerifyFile(src, 0)
	if err != nil {
		return nil, fmt.Errorf("backup %s: %w; nothing replaced", src, err)
	}
	rep.Backup = vr
	if !vr.OK() {
		return rep, fmt.Errorf("%w: %s; nothing replaced", ErrBadInput, vr.Verdict())
	}
	served, err := servedZones(dst)
	if err != nil {
		return rep, err
	}
	if served != nil {
		rep.Kept = dst + ".before-restore-" + now.UTC().Format("20060102T150405Z")
		if err := os.Rename(dst, rep.Kept); err != nil {
			return rep, fmt.Errorf("keep the replaced store: %w; nothing replaced", err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return rep, fmt.Errorf("restore: %w", err)
	}
	if err := copyFileSync(src, dst); err != nil {
		if rep.Kept == "" {
			return rep, fmt.Errorf("restore: %w", err)
		}
		if rerr := os.Rename(rep.Kept, dst); rerr != nil {
			return rep, fmt.Errorf("restore: %w; and putting the old store back failed too (%v): it is at %s", err, rerr, rep.Kept)
		}
		return rep, fmt.Errorf("restore: %w; the old store is back in place", err)
	}
	db, err := Open(dst, Options{})
	if err != nil {
		return rep, fmt.Errorf("open the restored store: %w", err)
	}
	defer db.Close()
	if prepare != nil {
		prepare(db)
	}
	return rep, db.aboveServed(rep, served, changeBy)
}

// servedZones reads the zones of the store at path: nil when there is no
// store there, ErrStoreBusy when a process holds it.
func servedZones(path string) (map[string]servedZone, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 200 * time.Millisecond})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("%w: %s is open in a running dms (stop dms serve first); nothing replaced", ErrStoreBusy, path)
		}
		return nil, fmt.Errorf("the store to replace, %s: %w; nothing replaced", path, err)
	}
	defer b.Close()
	out := map[string]servedZone{}
	err = b.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketZoneNames) == nil {
			return nil // empty, or not a store: nothing served
		}
		return (&View{tx: tx}).Zones(func(z *Zone) bool {
			out[z.Label()] = servedZone{z.Serial, z.ZI}
			return true
		})
	})
	return out, err
}

// aboveServed gives each restored zone whose instance differs from the
// served one a serial above the served serial (and lists the zones the
// backup lacks).
func (db *DB) aboveServed(rep *RestoreReport, served map[string]servedZone, changeBy string) error {
	_ = db.View(func(v *View) error { rep.Applied = v.Applied(); return nil })
	if rep.Applied > 0 {
		return nil
	}
	restored := map[string]bool{}
	var bumps []SerialBump
	err := db.View(func(v *View) error {
		return v.Zones(func(z *Zone) bool {
			restored[z.Label()] = true
			s, ok := served[z.Label()]
			if ok && !z.Deleted && (s.serial != z.Serial || s.zi != z.ZI) {
				bumps = append(bumps, SerialBump{Zone: z.Name, View: viewName(&ViewDef{Name: z.View, ID: z.ViewID}), Backup: z.Serial, Served: s.serial})
			}
			return true
		})
	})
	if err != nil {
		return err
	}
	for name := range served {
		if !restored[name] {
			rep.Missing = append(rep.Missing, name)
		}
	}
	sort.Strings(rep.Missing)
	for i := range bumps {
		b := &bumps[i]
		target := b.Served + 1
		if err := SerialSetAllowed(b.Backup, target); err != nil {
			b.Note = fmt.Sprintf("serial %d cannot follow %d in one step (%v): run dms zone serial %s --wrap", target, b.Backup, err, b.Zone)
			b.Serial = b.Backup
			continue
		}
		res, err := db.Change(changeBy, func(t *Txn) error {
			_, err := t.Apply(ZoneChange{Zone: b.Zone, View: viewLabel(b.View), Serial: SerialSet, SerialValue: target, NewZI: true,
				Comment: fmt.Sprintf("restored from a backup: serial above the %d secondaries were served", b.Served), catalog: true})
			return err
		})
		if err != nil {
			return fmt.Errorf("zone %s: new serial after the restore: %w", b.Zone, err)
		}
		b.Serial = res[0].Serial
	}
	rep.Bumped = bumps
	return nil
}

// copyFileSync copies src to dst through dst.tmp (mode 0600: a store holds
// private keys), synced and renamed, so dst is never a partial copy.
func copyFileSync(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return WriteFileSync(dst, 0o600, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}

// WriteFileSync makes name whole or not at all: write fills name.tmp
// (created with perm), which is synced and renamed over name, and the
// rename is synced; on any error name.tmp is removed and name is as it
// was.
func WriteFileSync(name string, perm os.FileMode, write func(io.Writer) error) error {
	tmp := name + ".tmp"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	err = write(out)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return SyncDir(filepath.Dir(name))
}

// SyncDir makes a rename in dir durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
