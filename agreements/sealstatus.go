package agreements

import (
	"time"

	"github.com/daiban/daiban/agreements/pdf"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// Verdicts of a document's seal.
const (
	SealValid   = "valid"   // sealed by a good key (or before its revocation)
	SealRevoked = "revoked" // sealed by a key after it was revoked
	SealUnknown = "unknown" // nothing to judge the seal by
)

// SealStatus is what a document's seal says now: the verdict, the
// certificate, the timestamp and any revocation of the certificate.
type SealStatus struct {
	Status    string `json:"status"`
	Message   string `json:"message"`
	Serial    string `json:"serial,omitempty"`
	SubFilter string `json:"sub_filter,omitempty"`
	// Timestamp: "stamped" (with time and tsa: "local" for the center's
	// own TSA, else the service's URL) or "awaiting".
	Timestamp  string       `json:"timestamp"`
	StampedAt  *time.Time   `json:"timestamped_at,omitempty"`
	TSA        string       `json:"tsa,omitempty"`
	Revocation *pdf.Revoked `json:"revocation,omitempty"`
	// AwaitingTimestamp repeats Timestamp == "awaiting" for clients that
	// only want the flag.
	AwaitingTimestamp bool `json:"awaiting_timestamp"`
}

// sealStatus judges d's seal against the root's current CRL. A document
// sealed before its certificate was revoked stays valid: the time of the
// seal is proven by its timestamp, or — while it awaits one — by the
// ledger entry written in the sealing transaction.
func (s *Service) sealStatus(d dbsqlc.Document) *SealStatus {
	st := &SealStatus{Status: SealUnknown, Timestamp: "none"}
	if d.SealSerial == nil {
		st.Message = "此文书在启用 PAdES 签章之前出具，签章状态请用 pdfsig 离线核验"
		return st
	}
	st.Serial, st.SubFilter = *d.SealSerial, "ETSI.CAdES.detached"
	if d.TimestampStatus != nil {
		st.Timestamp = *d.TimestampStatus
	}
	st.AwaitingTimestamp = st.Timestamp == TimestampAwaiting
	st.StampedAt, st.TSA = d.TimestampedAt, deref(d.Tsa)
	if !s.sealer.KnownSeal(st.Serial) {
		st.Message = "签章证书不是本中心的证书"
		return st
	}
	sealedAt := *d.IssuedAt
	if d.TimestampedAt != nil && d.TimestampedAt.Before(sealedAt) {
		sealedAt = *d.TimestampedAt
	}
	rev, revoked := s.sealer.Revocation(st.Serial)
	switch {
	case !revoked:
		st.Status, st.Message = SealValid, "电子签章有效"
	case sealedAt.Before(rev.At):
		st.Status, st.Revocation = SealValid, &rev
		st.Message = "签章证书已于 " + rev.At.In(cst).Format("2006-01-02 15:04:05") + " 吊销，但本文书在吊销之前已盖章，仍然有效"
	default:
		st.Status, st.Revocation = SealRevoked, &rev
		st.Message = "本文书由已吊销的签章密钥在吊销之后盖章（吊销时间 " + rev.At.In(cst).Format("2006-01-02 15:04:05") + "），不能作为有效文书"
	}
	if st.AwaitingTimestamp {
		st.Message += "；时间戳服务暂未应答，文档时间戳将自动补加"
	}
	return st
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
