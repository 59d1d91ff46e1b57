package ledger

import (
	"context"
	"fmt"
	"math/bits"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/daiban/daiban/sql/dbsqlc"
)

// frontier computes RFC 6962 tree hashes incrementally: it keeps the hash
// of each complete subtree on the right edge of the tree (one per set bit
// of the size), so appending a leaf costs on average one node hash and the
// root of the current size is available at any time. It computes the same
// roots as tlog.TreeHash (checked by the tests) with O(log n) memory.
type frontier struct {
	n int64
	h [64]tlog.Hash // h[level] is valid when bit level of n is set
}

func (f *frontier) push(leaf tlog.Hash) {
	level := 0
	for f.n>>level&1 == 1 {
		leaf = tlog.NodeHash(f.h[level], leaf)
		level++
	}
	f.h[level] = leaf
	f.n++
}

// root returns the tree hash of the f.n leaves pushed so far.
func (f *frontier) root() tlog.Hash {
	if f.n == 0 {
		return tlog.Hash{}
	}
	level := bits.TrailingZeros64(uint64(f.n))
	acc := f.h[level]
	for level++; level < 64; level++ {
		if f.n>>level&1 == 1 {
			acc = tlog.NodeHash(f.h[level], acc)
		}
	}
	return acc
}

// frontierIndexes returns the tlog storage indexes of the complete subtrees
// on the right edge of a tree of n leaves: the hashes tlog.StoredHashes
// needs to append leaf n and tlog.TreeHash needs for the root of n.
func frontierIndexes(n int64) []int64 {
	var idx []int64
	for level := 62; level >= 0; level-- {
		if n>>level&1 == 1 {
			idx = append(idx, tlog.StoredHashIndex(level, n>>level-1))
		}
	}
	return idx
}

// dbHashReader reads stored hashes from ledger_hashes.
type dbHashReader struct {
	ctx context.Context
	db  dbsqlc.DBTX
}

func (r dbHashReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	rows, err := queries.LedgerHashes(r.ctx, r.db, indexes)
	if err != nil {
		return nil, err
	}
	m := make(map[int64]tlog.Hash, len(rows))
	for _, row := range rows {
		var h tlog.Hash
		if len(row.Hash) != tlog.HashSize {
			return nil, fmt.Errorf("ledger: stored hash %d has %d bytes", row.StorageIndex, len(row.Hash))
		}
		copy(h[:], row.Hash)
		m[row.StorageIndex] = h
	}
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		h, ok := m[x]
		if !ok {
			return nil, fmt.Errorf("ledger: stored hash %d is missing", x)
		}
		out[i] = h
	}
	return out, nil
}

// batchHashReader serves the hashes an integration batch needs: the stored
// frontier of the old tree (read once) and the hashes the batch computes,
// which occupy one contiguous run of storage indexes from base. Anything
// else falls back to the database.
type batchHashReader struct {
	old  map[int64]tlog.Hash
	base int64
	new  []tlog.Hash
	db   dbHashReader
}

func (r *batchHashReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	var miss []int64
	for i, x := range indexes {
		if x >= r.base && x < r.base+int64(len(r.new)) {
			out[i] = r.new[x-r.base]
		} else if h, ok := r.old[x]; ok {
			out[i] = h
		} else {
			miss = append(miss, x)
		}
	}
	if len(miss) == 0 {
		return out, nil
	}
	got, err := r.db.ReadHashes(miss)
	if err != nil {
		return nil, err
	}
	for i, x := range miss {
		r.old[x] = got[i]
	}
	for i, x := range indexes {
		if h, ok := r.old[x]; ok && !(x >= r.base && x < r.base+int64(len(r.new))) {
			out[i] = h
		}
	}
	return out, nil
}
