package zonedb

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"os"
)

// The structure of a bbolt file, checked by reading it (never by mapping
// it) before bbolt is let near a copy of unknown health. bbolt trusts its
// pages: a damaged branch page that points back at an ancestor sends its
// cursor, and its own Check, down for ever (the stack grows until memory
// runs out), an element count past the page end reads outside the mapping
// (a fault, or under the race detector's checkptr a fatal error), and a
// damaged freelist count does the same in Check's goroutine, where no
// recover can catch it. checkFile walks every page the tree and the
// freelist reach, with every offset bounded and every page reached once,
// so that what bbolt then reads is at least well formed.
//
// The layout is bbolt's (go.etcd.io/bbolt internal/common): a page is a
// 16-byte header (id 8, flags 2, count 2, overflow 4) and then its
// elements; branch elements are 16 bytes (key position 4, key size 4,
// child page 8), leaf elements 16 (flags 4, key position 4, key size 4,
// value size 4), positions counted from the element itself. A meta page
// holds after its header: magic, version, page size, flags (4 bytes each),
// the root bucket (root page 8, sequence 8), the freelist page (8), the
// high-water page id (8), the transaction id (8) and an FNV-1a 64 checksum
// of the fields before it. A bucket is a leaf value with flag 1: its root
// page and sequence, and when the root is 0 the bucket's one leaf page
// inline after them.

const (
	pageHeader    = 16
	elementSize   = 16
	branchPage    = 0x01
	leafPage      = 0x02
	freelistPage  = 0x10
	bucketElement = 0x01
	noFreelist    = ^uint64(0)
	// maxTreeDepth bounds the nesting of branch pages and buckets: a
	// B+tree of 4 KiB pages holding a million keys is four deep.
	maxTreeDepth = 64
)

// checkFile reads the meta page that opening the file would use (the
// valid one with the higher transaction id), checks that the file holds
// every page it names (a truncated copy is refused before it is mapped),
// then walks the tree and the freelist.
func checkFile(path string, size int64) error {
	_, err := walkFile(path, size)
	return err
}

// walkFile is checkFile returning the walker, whose seen pages are those
// in use.
func walkFile(path string, size int64) (*pageWalker, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	best, _ := readMeta(f, pageHeader)
	// The second meta is one page in: at the first one's page size, or
	// (the first one broken) at one of the sizes bbolt uses.
	sizes := []int64{4096, 8192, 16384, 32768, 65536}
	if best != nil {
		sizes = []int64{int64(binary.LittleEndian.Uint32(best[8:]))}
	}
	for _, ps := range sizes {
		if m, ok := readMeta(f, ps+pageHeader); ok {
			best = pickMeta(best, m)
			break
		}
	}
	if best == nil {
		return nil, fmt.Errorf("not a bbolt store: no valid meta page")
	}
	w := &pageWalker{
		f:        f,
		pageSize: int64(binary.LittleEndian.Uint32(best[8:])),
		pages:    binary.LittleEndian.Uint64(best[40:]),
		seen:     map[uint64]bool{},
	}
	if w.pageSize < 512 || w.pageSize > 1<<20 || w.pageSize&(w.pageSize-1) != 0 {
		return nil, fmt.Errorf("meta page: page size %d", w.pageSize)
	}
	if w.pages < 3 || w.pages > uint64(size) {
		return nil, fmt.Errorf("meta page: %d pages", w.pages)
	}
	if need := int64(w.pages) * w.pageSize; size < need {
		return nil, fmt.Errorf("truncated: the file has %d bytes, its pages need %d", size, need)
	}
	if fl := binary.LittleEndian.Uint64(best[32:]); fl != noFreelist {
		if err := w.freelist(fl); err != nil {
			return nil, err
		}
	}
	return w, w.tree(binary.LittleEndian.Uint64(best[16:]), 0)
}

// readMeta reads a meta structure at off; it is nil unless its magic and
// checksum hold.
func readMeta(f *os.File, off int64) (*[64]byte, bool) {
	var m [64]byte
	if _, err := f.ReadAt(m[:], off); err != nil {
		return nil, false
	}
	if binary.LittleEndian.Uint32(m[0:]) != 0xED0CDAED {
		return nil, false
	}
	h := fnv.New64a()
	h.Write(m[:56])
	if h.Sum64() != binary.LittleEndian.Uint64(m[56:]) {
		return nil, false
	}
	return &m, true
}

// pickMeta is the meta with the higher transaction id.
func pickMeta(a, b *[64]byte) *[64]byte {
	if a == nil || binary.LittleEndian.Uint64(b[48:]) > binary.LittleEndian.Uint64(a[48:]) {
		return b
	}
	return a
}

// pageWalker reads pages of one file, each at most once.
type pageWalker struct {
	f        *os.File
	pageSize int64
	pages    uint64 // the high-water mark: page ids are below it
	seen     map[uint64]bool
	hdr      [pageHeader]byte
}

// page reads page id with its overflow pages, marking them all seen; a
// page out of range, reached twice or not carrying its own id is an error.
func (w *pageWalker) page(id uint64) ([]byte, error) {
	if id < 2 || id >= w.pages {
		return nil, fmt.Errorf("page %d: out of range (2 to %d)", id, w.pages-1)
	}
	if _, err := w.f.ReadAt(w.hdr[:], int64(id)*w.pageSize); err != nil {
		return nil, fmt.Errorf("page %d: %v", id, err)
	}
	if got := binary.LittleEndian.Uint64(w.hdr[0:]); got != id {
		return nil, fmt.Errorf("page %d: its header says page %d", id, got)
	}
	overflow := uint64(binary.LittleEndian.Uint32(w.hdr[12:]))
	if overflow >= w.pages-id {
		return nil, fmt.Errorf("page %d: %d overflow pages run past the last page", id, overflow)
	}
	for p := id; p <= id+overflow; p++ {
		if w.seen[p] {
			return nil, fmt.Errorf("page %d: reached twice", p)
		}
		w.seen[p] = true
	}
	buf := make([]byte, int64(overflow+1)*w.pageSize)
	if _, err := w.f.ReadAt(buf, int64(id)*w.pageSize); err != nil {
		return nil, fmt.Errorf("page %d: %v", id, err)
	}
	return buf, nil
}

// freelist checks the freelist page: its ids fit it and are in range.
func (w *pageWalker) freelist(id uint64) error {
	p, err := w.page(id)
	if err != nil {
		return fmt.Errorf("freelist: %v", err)
	}
	if flags := binary.LittleEndian.Uint16(p[8:]); flags != freelistPage {
		return fmt.Errorf("freelist: page %d has flags %#x", id, flags)
	}
	n, start := uint64(binary.LittleEndian.Uint16(p[10:])), uint64(pageHeader)
	if n == 0xFFFF { // the real count is the first id
		n, start = binary.LittleEndian.Uint64(p[pageHeader:]), pageHeader+8
	}
	if n > (uint64(len(p))-start)/8 {
		return fmt.Errorf("freelist: page %d cannot hold its %d ids", id, n)
	}
	for i := range n {
		if f := binary.LittleEndian.Uint64(p[start+8*i:]); f < 2 || f >= w.pages {
			return fmt.Errorf("freelist: free page %d out of range", f)
		}
	}
	return nil
}

// tree walks the pages under id, a bucket's root or a branch's child.
func (w *pageWalker) tree(id uint64, depth int) error {
	if depth > maxTreeDepth {
		return fmt.Errorf("page %d: nested deeper than %d", id, maxTreeDepth)
	}
	p, err := w.page(id)
	if err != nil {
		return err
	}
	switch flags := binary.LittleEndian.Uint16(p[8:]); flags {
	case branchPage:
		return w.branch(id, p, depth)
	case leafPage:
		return w.leaf(fmt.Sprintf("page %d", id), p, depth)
	default:
		return fmt.Errorf("page %d: flags %#x where a branch or leaf page belongs", id, flags)
	}
}

// elements bounds a page's element array and returns its count.
func elements(what string, p []byte, min int) (int, error) {
	n := int(binary.LittleEndian.Uint16(p[10:]))
	if n < min || pageHeader+n*elementSize > len(p) {
		return 0, fmt.Errorf("%s: %d elements do not fit", what, n)
	}
	return n, nil
}

// slice is p[off:off+n] when that lies in p.
func slice(p []byte, off, n uint64) ([]byte, bool) {
	if off > uint64(len(p)) || n > uint64(len(p))-off {
		return nil, false
	}
	return p[off : off+n], true
}

func (w *pageWalker) branch(id uint64, p []byte, depth int) error {
	n, err := elements(fmt.Sprintf("page %d", id), p, 1)
	if err != nil {
		return err
	}
	for i := range n {
		e := uint64(pageHeader + i*elementSize)
		pos, ksize := uint64(binary.LittleEndian.Uint32(p[e:])), uint64(binary.LittleEndian.Uint32(p[e+4:]))
		if _, ok := slice(p, e+pos, ksize); !ok {
			return fmt.Errorf("page %d: key %d lies outside the page", id, i)
		}
		if err := w.tree(binary.LittleEndian.Uint64(p[e+8:]), depth+1); err != nil {
			return err
		}
	}
	return nil
}

// leaf checks a leaf page (of the file, or inline in a bucket value) and
// walks the buckets it holds.
func (w *pageWalker) leaf(what string, p []byte, depth int) error {
	n, err := elements(what, p, 0)
	if err != nil {
		return err
	}
	for i := range n {
		e := uint64(pageHeader + i*elementSize)
		flags := binary.LittleEndian.Uint32(p[e:])
		pos := uint64(binary.LittleEndian.Uint32(p[e+4:]))
		ksize := uint64(binary.LittleEndian.Uint32(p[e+8:]))
		vsize := uint64(binary.LittleEndian.Uint32(p[e+12:]))
		val, ok := slice(p, e+pos+ksize, vsize)
		if _, kok := slice(p, e+pos, ksize); !ok || !kok {
			return fmt.Errorf("%s: element %d lies outside the page", what, i)
		}
		if flags&bucketElement == 0 {
			continue
		}
		if len(val) < 16 {
			return fmt.Errorf("%s: bucket %d: %d-byte header", what, i, len(val))
		}
		if root := binary.LittleEndian.Uint64(val); root != 0 {
			if err := w.tree(root, depth+1); err != nil {
				return err
			}
			continue
		}
		inline := val[16:]
		if len(inline) < pageHeader {
			return fmt.Errorf("%s: inline bucket %d: no page", what, i)
		}
		if flags := binary.LittleEndian.Uint16(inline[8:]); flags != leafPage {
			return fmt.Errorf("%s: inline bucket %d: flags %#x", what, i, flags)
		}
		if depth+1 > maxTreeDepth {
			return fmt.Errorf("%s: nested deeper than %d", what, maxTreeDepth)
		}
		if err := w.leaf(fmt.Sprintf("%s: inline bucket %d", what, i), inline, depth+1); err != nil {
			return err
		}
	}
	return nil
}
