package authserver

import (
	"encoding/binary"
	"errors"
	"strings"
	"time"

	"github.com/miekg/dns"

	"dms/zonedb"
)

// TSIG (RFC 8945): a signed request is verified with the key of that name
// from the store, and its answer is signed with the same key; secondaries
// sign their SOA refresh queries and reject unsigned answers.

// tsigFudge is the time window allowed either side of a signature.
const tsigFudge = 300

// signedRequest is a request whose TSIG verified.
type signedRequest struct {
	key *zonedb.TSIGKey
	mac string // the request's MAC, which the answer's MAC covers
}

// verifyTSIG checks the TSIG of req (which has one). It returns the key on
// success, or the error answer to send (RFC 8945 section 5.2).
func verifyTSIG(v *zonedb.View, req *dns.Msg, in []byte, now time.Time) (*signedRequest, *dns.Msg) {
	t := req.IsTsig()
	key, err := v.TSIGKey(t.Hdr.Name)
	if err == nil && !strings.EqualFold(key.Algorithm, t.Algorithm) {
		err = errors.New("algorithm differs")
	}
	if err != nil {
		return nil, tsigError(req, t, dns.RcodeBadKey, now)
	}
	switch err := dns.TsigVerify(in, key.Secret, "", false); {
	case err == nil:
		return &signedRequest{key: key, mac: t.MAC}, nil
	case errors.Is(err, dns.ErrTime):
		// BADTIME answers are signed and carry our time (section 5.2.3).
		resp := tsigError(req, t, dns.RcodeBadTime, now)
		ts := resp.Extra[len(resp.Extra)-1].(*dns.TSIG)
		ts.OtherLen = 6
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], uint64(now.Unix()))
		ts.OtherData = strings.ToUpper(hexBytes(b[2:]))
		return &signedRequest{key: key, mac: t.MAC}, resp
	default:
		return nil, tsigError(req, t, dns.RcodeBadSig, now)
	}
}

func hexBytes(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// tsigError is the NOTAUTH answer for a TSIG failure, with a TSIG record
// that carries the error.
func tsigError(req *dns.Msg, t *dns.TSIG, code uint16, now time.Time) *dns.Msg {
	resp := new(dns.Msg)
	resp.SetRcode(req, dns.RcodeNotAuth)
	resp.Extra = append(resp.Extra, &dns.TSIG{
		Hdr:        dns.RR_Header{Name: t.Hdr.Name, Rrtype: dns.TypeTSIG, Class: dns.ClassANY},
		Algorithm:  t.Algorithm,
		TimeSigned: t.TimeSigned,
		Fudge:      tsigFudge,
		OrigId:     req.Id,
		Error:      code,
	})
	if code == dns.RcodeBadTime {
		resp.Extra[0].(*dns.TSIG).TimeSigned = uint64(now.Unix())
	}
	return resp
}

// signTSIG packs resp signed with the request's key. timersOnly is for the
// second and later messages of a transfer, whose MAC chains to the one
// before (prevMAC). It returns the packed message and its MAC.
func signTSIG(resp *dns.Msg, sr *signedRequest, prevMAC string, timersOnly bool, now time.Time) ([]byte, string, error) {
	if t := resp.IsTsig(); t == nil {
		resp.SetTsig(sr.key.Name, sr.key.Algorithm, tsigFudge, now.Unix())
	}
	return dns.TsigGenerate(resp, sr.key.Secret, prevMAC, timersOnly)
}

// packTSIGError packs a TSIG error answer: unsigned for BADKEY and BADSIG,
// signed for BADTIME.
func packTSIGError(resp *dns.Msg, sr *signedRequest) ([]byte, error) {
	if sr == nil {
		b, _, err := dns.TsigGenerate(resp, "", "", false)
		return b, err
	}
	b, _, err := dns.TsigGenerate(resp, sr.key.Secret, sr.mac, false)
	return b, err
}
