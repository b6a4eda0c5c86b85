package authserver

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash"
	"strings"
	"time"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
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
	if t.Hdr.Class != dns.ClassANY || t.Algorithm == "" || t.Algorithm == "." {
		// Not a TSIG record anyone signed (RFC 8945 section 4.2): no
		// error TSIG to send back, just FORMERR.
		resp := new(dns.Msg)
		resp.SetRcode(req, dns.RcodeFormatError)
		return nil, resp
	}
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
		ts.OtherData = hex.EncodeToString(b[2:])
		return &signedRequest{key: key, mac: t.MAC}, resp
	default:
		return nil, tsigError(req, t, dns.RcodeBadSig, now)
	}
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
		// RFC 8945 section 5.2.3: the client's time and fudge, so the
		// client can verify the answer; our time goes in Other Data.
		resp.Extra[0].(*dns.TSIG).Fudge = t.Fudge
	}
	return resp
}

// packTSIGError packs a TSIG error answer: unsigned for BADKEY and BADSIG,
// signed for BADTIME; a FORMERR for a malformed TSIG has no TSIG.
func packTSIGError(resp *dns.Msg, sr *signedRequest) ([]byte, error) {
	if resp.IsTsig() == nil {
		return resp.Pack()
	}
	if sr == nil {
		b, _, err := dns.TsigGenerate(resp, "", "", false)
		return b, err
	}
	b, _, err := dns.TsigGenerate(resp, sr.key.Secret, sr.mac, false)
	return b, err
}

// wireSigner signs packed messages of a transfer without unpacking them:
// the HMAC of RFC 8945 section 4.3 over the prior MAC, the message and the
// TSIG variables (all of them on the first message, the timers on the
// rest), with the TSIG record appended and ARCOUNT raised.
type wireSigner struct {
	key     *zonedb.TSIGKey
	secret  []byte
	name    []byte // key name, canonical wire form
	alg     []byte // algorithm name, canonical wire form
	newHash func() hash.Hash
	buf     []byte
}

func newWireSigner(k *zonedb.TSIGKey) (*wireSigner, error) {
	secret, err := base64.StdEncoding.DecodeString(k.Secret)
	if err != nil {
		return nil, err
	}
	w := &wireSigner{key: k, secret: secret}
	switch dns.CanonicalName(k.Algorithm) {
	case dns.HmacSHA1:
		w.newHash = sha1.New
	case dns.HmacSHA224:
		w.newHash = sha256.New224
	case dns.HmacSHA256:
		w.newHash = sha256.New
	case dns.HmacSHA384:
		w.newHash = sha512.New384
	case dns.HmacSHA512:
		w.newHash = sha512.New
	default:
		return nil, dns.ErrKeyAlg
	}
	var b [256]byte
	n, err := dns.PackDomainName(dns.CanonicalName(k.Name), b[:], 0, nil, false)
	if err != nil {
		return nil, err
	}
	w.name = append([]byte(nil), b[:n]...)
	n, err = dns.PackDomainName(dns.CanonicalName(k.Algorithm), b[:], 0, nil, false)
	if err != nil {
		return nil, err
	}
	w.alg = append([]byte(nil), b[:n]...)
	return w, nil
}

// sign returns msg with its TSIG record and the MAC (hex, as miekg/dns
// keeps it) that the next message's MAC covers.
func (w *wireSigner) sign(msg []byte, prevMAC string, timersOnly bool, now time.Time) ([]byte, string, error) {
	prev, err := hex.DecodeString(prevMAC)
	if err != nil {
		return nil, "", err
	}
	h := hmac.New(w.newHash, w.secret)
	if len(prev) > 0 {
		h.Write([]byte{byte(len(prev) >> 8), byte(len(prev))})
		h.Write(prev)
	}
	h.Write(msg)
	t := uint64(now.Unix())
	timers := []byte{byte(t >> 40), byte(t >> 32), byte(t >> 24), byte(t >> 16), byte(t >> 8), byte(t), tsigFudge >> 8, tsigFudge & 0xff}
	if timersOnly {
		h.Write(timers)
	} else {
		h.Write(w.name)
		h.Write([]byte{0, 255, 0, 0, 0, 0}) // class ANY, TTL 0
		h.Write(w.alg)
		h.Write(timers)
		h.Write([]byte{0, 0, 0, 0}) // error, other len
	}
	mac := h.Sum(nil)
	out := append(w.buf[:0], msg...)
	out = append(out, w.name...)
	out = binary.BigEndian.AppendUint16(out, dns.TypeTSIG)
	out = binary.BigEndian.AppendUint16(out, dns.ClassANY)
	out = binary.BigEndian.AppendUint32(out, 0)
	out = binary.BigEndian.AppendUint16(out, uint16(len(w.alg)+len(timers)+2+len(mac)+6))
	out = append(out, w.alg...)
	out = append(out, timers...)
	out = binary.BigEndian.AppendUint16(out, uint16(len(mac)))
	out = append(out, mac...)
	out = append(out, msg[0], msg[1]) // original id
	out = append(out, 0, 0, 0, 0)     // error, other len
	ar := binary.BigEndian.Uint16(out[10:])
	binary.BigEndian.PutUint16(out[10:], ar+1)
	w.buf = out
	return out, hex.EncodeToString(mac), nil
}
