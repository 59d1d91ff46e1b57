package ledger

import "golang.org/x/mod/sumdb/tlog"

// Internals for the external tests.

// VerifyQuery is the query Verify streams, for the read-only baseline of
// the benchmark.
const VerifyQuery = verifyQuery

// AppendTime exposes the leaf time format.
func AppendTime(dst []byte, us int64) []byte { return appendTime(dst, us) }

// FrontierRoots pushes leaves one by one and returns the root after each.
func FrontierRoots(leaves []tlog.Hash) []tlog.Hash {
	var f frontier
	out := make([]tlog.Hash, len(leaves))
	for i, h := range leaves {
		f.push(h)
		out[i] = f.root()
	}
	return out
}

// FrontierIndexes exposes the storage indexes of a tree's right edge.
func FrontierIndexes(n int64) []int64 { return frontierIndexes(n) }

// StreamSettings are the session settings Verify reads under.
const StreamSettings = streamSettings
