package agreements

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// Verification is what anyone may learn about a sealed document from its
// SHA-256 or verification code: nothing personal.
type Verification struct {
	Kind       string    `json:"kind"`
	Title      string    `json:"title"`
	SHA256     string    `json:"sha256"`
	VerifyCode string    `json:"verify_code"`
	IssuedAt   time.Time `json:"issued_at"`
	Center     string    `json:"center"`
	CaseNumber string    `json:"case_number"` // masked
	Ledger     *Proof    `json:"ledger"`      // nil until the entry is integrated

	// Seal, timestamp and revocation status (PAdES; see SealStatus).
	Seal *SealStatus `json:"seal,omitempty"`
	// The public ledger (issue 13): the entry's leaf exactly as the tiles
	// publish it (base64), its index, and its inclusion in the latest
	// checkpoint the witnesses cosigned (nil until one covers it).
	Leaf      string `json:"leaf,omitempty"`
	LeafIndex *int64 `json:"leaf_index,omitempty"`
	Cosigned  *Proof `json:"cosigned,omitempty"`
}

// Proof places the document's ledger entry in the signed log.
type Proof struct {
	Index      int64    `json:"index"`
	TreeSize   int64    `json:"tree_size"`
	LeafHash   string   `json:"leaf_hash"`
	Root       string   `json:"root"`
	Inclusion  []string `json:"inclusion"`
	Checkpoint string   `json:"checkpoint"`
}

var errUnknownDocument = daiban.Errorf(daiban.ENOTFOUND, "未找到该文书：请核对文件是否为本中心出具、是否被修改")

// Verify looks a sealed document up by the hex SHA-256 of its file or by
// the verification code printed on it.
func (s *Service) Verify(ctx context.Context, key string) (_ Verification, err error) {
	defer daiban.Wrap(&err, "agreements: verify document")
	key = strings.TrimSpace(key)
	var d dbsqlc.Document
	switch {
	case len(key) == 64:
		sum, herr := hex.DecodeString(strings.ToLower(key))
		if herr != nil {
			return Verification{}, errUnknownDocument
		}
		d, err = s.q.DocumentBySHA(ctx, s.pool, sum)
	case len(key) == 10:
		d, err = s.q.DocumentByCode(ctx, s.pool, strings.ToUpper(key))
	default:
		return Verification{}, errUnknownDocument
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return Verification{}, errUnknownDocument
	} else if err != nil {
		return Verification{}, err
	}
	c, err := s.q.CaseGet(ctx, s.pool, d.CaseID)
	if err != nil {
		return Verification{}, err
	}
	v := Verification{Kind: d.Kind, Title: KindNames[d.Kind], SHA256: hex.EncodeToString(d.Sha256), VerifyCode: d.VerifyCode,
		IssuedAt: *d.IssuedAt, Center: s.center.Name, CaseNumber: maskNumber(c.Number)}
	if d.LedgerEntry != nil {
		e, err := s.ledger.EntryByID(ctx, *d.LedgerEntry)
		if err != nil {
			return Verification{}, err
		}
		if e.Index >= 0 {
			cp, err := s.ledger.Checkpoint(ctx)
			if err != nil {
				return Verification{}, err
			}
			inc, err := s.ledger.Inclusion(ctx, e.Index, cp.Size)
			if err != nil {
				return Verification{}, err
			}
			p := &Proof{Index: e.Index, TreeSize: cp.Size, LeafHash: b64(inc.LeafHash[:]), Root: b64(inc.Root[:]), Checkpoint: cp.Note}
			for _, h := range inc.Proof {
				p.Inclusion = append(p.Inclusion, b64(h[:]))
			}
			v.Ledger = p
			if err := s.publicProof(ctx, e, &v); err != nil {
				return Verification{}, err
			}
		}
	}
	v.Seal = s.sealStatus(d)
	return v, nil
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// maskNumber keeps the region and date of a case number and hides its
// sequence: 370323001001-20261127-****.
func maskNumber(n string) string {
	if i := strings.LastIndexByte(n, '-'); i > 0 {
		return n[:i+1] + strings.Repeat("*", len(n)-i-1)
	}
	return n
}
