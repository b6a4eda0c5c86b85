package dnssec

import (
	"slices"
	"time"

	"github.com/miekg/dns"
)

// Renewing signatures before they age: the re-signer's commits.

// resign renews the signatures due within the hour (expiring less than
// Refresh from now), oldest first, and works out when the next are due.
func (j *job) resign() error {
	sc := j.sc
	items, soonest, staleSigs, err := j.dueSigs()
	if err != nil {
		return err
	}
	tasks, nsec3, soonest, err := j.renewTasks(items, soonest)
	if err != nil {
		return err
	}
	if err := j.signTasks(tasks); err != nil {
		return err
	}
	if err := j.writeSigs(tasks, nil); err != nil {
		return err
	}
	if err := j.signNSEC3(nsec3); err != nil {
		return err
	}
	if !j.minExp.IsZero() && (soonest.IsZero() || j.minExp.Before(soonest)) {
		soonest = j.minExp
	}
	sc.Zone.SigExpiry = soonest
	sc.Resigned = len(tasks) + len(nsec3)
	// Signatures by keys that no longer sign: renewed this time, except
	// past the batch limit, which makes the zone due again at once.
	sc.Zone.StaleSigs = max(0, staleSigs-sc.Resigned)
	return nil
}

// dueSig is a signature due for renewal: of the RRset name/t, or of the
// NSEC3 record with hash.
type dueSig struct {
	name string
	hash []byte
	t    uint16
	exp  time.Time
}

// dueSigs lists the signatures that expire before the refresh period (or
// were made by a key that no longer signs), soonest first, with the
// soonest expiry of the others and the count of stale ones.
func (j *job) dueSigs() ([]dueSig, time.Time, int, error) {
	due := j.sc.Now.Add(j.params.Refresh + time.Hour)
	var items []dueSig
	var soonest time.Time
	staleSigs := 0
	err := j.sc.Signatures(func(name string, hash []byte, sigs []dns.RR) bool {
		for _, rr := range sigs {
			sig := rr.(*dns.RRSIG)
			exp := time.Unix(int64(sig.Expiration), 0).UTC()
			stale := !j.signs(sig)
			if stale {
				staleSigs++
			}
			if exp.Before(due) || stale {
				items = append(items, dueSig{name: name, hash: hash, t: sig.TypeCovered, exp: exp})
			} else if soonest.IsZero() || exp.Before(soonest) {
				soonest = exp
			}
		}
		return true
	})
	slices.SortFunc(items, func(a, b dueSig) int { return a.exp.Compare(b.exp) })
	return items, soonest, staleSigs, err
}

// renewTasks turns due signatures into signing tasks, at most maxResign
// (the rest are left for the next commit, which is due at once), and the
// SOA's, which changes with every commit.
func (j *job) renewTasks(items []dueSig, soonest time.Time) (tasks, nsec3 []sigTask, _ time.Time, _ error) {
	sc := j.sc
	seen := map[string]bool{}
	for _, it := range items {
		k := it.name + "/" + dns.TypeToString[it.t]
		if seen[k] {
			continue
		}
		if len(tasks)+len(nsec3) >= maxResign {
			// Left for the next commit: it is due now.
			if soonest.IsZero() || it.exp.Before(soonest) {
				soonest = it.exp
			}
			continue
		}
		seen[k] = true
		if it.hash != nil {
			rrs, err := sc.NSEC3(it.hash)
			if err != nil {
				return nil, nil, soonest, err
			}
			if len(rrs) > 0 {
				nsec3 = append(nsec3, sigTask{name: it.name, t: dns.TypeNSEC3, rrs: rrs})
			}
			continue
		}
		rrs, err := sc.RRset(it.name, it.t)
		if err != nil {
			return nil, nil, soonest, err
		}
		if len(rrs) > 0 {
			tasks = append(tasks, sigTask{name: it.name, t: it.t, rrs: rrs})
		}
	}
	if !seen[j.zone+"/SOA"] {
		if soa, err := sc.RRset(j.zone, dns.TypeSOA); err == nil && len(soa) > 0 {
			tasks = append(tasks, sigTask{name: j.zone, t: dns.TypeSOA, rrs: soa})
		}
	}
	return tasks, nsec3, soonest, nil
}

// signs reports whether sig was made by a key that signs its RRset now.
func (j *job) signs(sig *dns.RRSIG) bool {
	switch sig.TypeCovered {
	case dns.TypeDNSKEY, dns.TypeCDS, dns.TypeCDNSKEY:
		for _, k := range j.ksks {
			if k.Tag() == sig.KeyTag && k.Algorithm() == sig.Algorithm {
				return true
			}
		}
		return false
	}
	return j.zskTags[sig.KeyTag]
}
