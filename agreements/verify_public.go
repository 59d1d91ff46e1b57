package agreements

import (
	"context"
	"encoding/base64"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/ledger"
)

// publicProof adds the leaf as published and its inclusion proof to the
// latest cosigned checkpoint, which anyone checks against /ledger/checkpoint
// and the witnesses' keys.
func (s *Service) publicProof(ctx context.Context, e ledger.Entry, v *Verification) error {
	idx := e.Index
	v.Leaf, v.LeafIndex = base64.StdEncoding.EncodeToString(e.Leaf()), &idx
	pub, err := s.ledger.Published(ctx)
	if daiban.ErrorCode(err) == daiban.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if e.Index >= pub.Size {
		return nil // the next cosigned checkpoint will cover it
	}
	inc, err := s.ledger.Inclusion(ctx, e.Index, pub.Size)
	if err != nil {
		return err
	}
	p := &Proof{Index: e.Index, TreeSize: pub.Size, LeafHash: b64(inc.LeafHash[:]), Root: b64(inc.Root[:]), Checkpoint: pub.Note}
	for _, h := range inc.Proof {
		p.Inclusion = append(p.Inclusion, b64(h[:]))
	}
	v.Cosigned = p
	return nil
}
