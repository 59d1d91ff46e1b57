// Package partners keeps the other government systems daiban exchanges
// data with: the 12345 hotline platform, the province's SMS gateway, a
// provincial platform. The administrator makes a partner with a webhook
// URL and gets its API key once; the key is the partner's bearer
// credential and the HMAC secret both sides sign with (package webhook).
// Only its hash is kept for the bearer check and the key itself sealed
// with the PII keys, so a copy of the database alone cannot sign.
package partners

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/policies/pii"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// Kind is what a partner is.
type Kind string

// The partner kinds.
const (
	Hotline  Kind = "hotline"
	SMS      Kind = "sms"
	Platform Kind = "platform"
)

// Kinds lists every kind.
var Kinds = []Kind{Hotline, SMS, Platform}

var kindNames = map[Kind]string{Hotline: "12345 热线", SMS: "短信网关", Platform: "政务平台"}

// Name is the kind's Chinese name.
func (k Kind) Name() string { return kindNames[k] }

// Partner is one partner as the administrator sees it.
type Partner struct {
	ID           int64      `json:"id"`
	Name         string     `json:"name"`
	Kind         Kind       `json:"kind"`
	WebhookURL   string     `json:"webhook_url"`
	KeyPrefix    string     `json:"key_prefix"`
	CreatedAt    time.Time  `json:"created_at"`
	RevokedAt    *time.Time `json:"revoked_at,omitempty"`
	LastDelivery *time.Time `json:"last_delivery,omitempty"`
	Failures     int64      `json:"failures"`
	Dead         int64      `json:"dead"`
}

// Recorder appends a ledger entry in the caller's transaction.
type Recorder func(ctx context.Context, db dbsqlc.DBTX, actor, region, typ string, payload any) error

// Store keeps the partners.
type Store struct {
	pool   *pgxpool.Pool
	q      *dbsqlc.Queries
	keys   *pii.Keys
	record Recorder
}

// NewStore returns a store on pool; record writes the ledger entries of
// partner changes.
func NewStore(pool *pgxpool.Pool, keys *pii.Keys, record Recorder) *Store {
	return &Store{pool: pool, q: dbsqlc.New(), keys: keys, record: record}
}

const keyTag = "dbk_"

// NewKey returns a fresh API key and its public prefix.
func newKey() (key, prefix string) {
	b := make([]byte, 4+32)
	_, _ = rand.Read(b)
	prefix = hex.EncodeToString(b[:4])
	return keyTag + prefix + "_" + hex.EncodeToString(b[4:]), prefix
}

func hashKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// CheckWebhook validates a webhook URL: http(s) with a host. An empty URL
// is allowed (a hotline partner that only posts to daiban).
func CheckWebhook(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return daiban.Invalid("webhook", "回调地址无效：应为 http:// 或 https:// 开头的完整网址")
	}
	return nil
}

// Add makes a partner and returns it with its API key, which is shown
// this once and never again.
func (s *Store) Add(ctx context.Context, actor, name string, kind Kind, webhook string) (_ Partner, key string, err error) {
	defer daiban.Wrap(&err, "partners: add %q", name)
	name = strings.TrimSpace(name)
	if name == "" || len([]rune(name)) > 60 {
		return Partner{}, "", daiban.Invalid("name", "请填写合作方名称（最多 60 个字）")
	}
	if kindNames[kind] == "" {
		return Partner{}, "", daiban.Invalid("kind", "合作方类型应为 hotline（12345 热线）、sms（短信网关）或 platform（政务平台）")
	}
	if err := CheckWebhook(webhook); err != nil {
		return Partner{}, "", err
	}
	key, prefix := newKey()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return Partner{}, "", err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	row, err := s.q.PartnerInsert(ctx, tx, dbsqlc.PartnerInsertParams{Name: name, Kind: string(kind), WebhookUrl: webhook,
		KeyPrefix: prefix, KeyHash: hashKey(key), KeyEnc: s.keys.SealString(pii.PartnerKey, prefix, key), CreatedBy: actor})
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return Partner{}, "", daiban.Invalid("name", "合作方「%s」已存在", name)
	} else if err != nil {
		return Partner{}, "", err
	}
	if err := s.record(ctx, tx, actor, "", "partner.added", map[string]any{"name": name, "kind": kind, "webhook": webhook, "key_prefix": prefix}); err != nil {
		return Partner{}, "", err
	}
	return fromRow(row), key, tx.Commit(ctx)
}

// Revoke ends a partner's key at once: its calls are refused and nothing
// more is sent to it.
func (s *Store) Revoke(ctx context.Context, actor, name string) (err error) {
	defer daiban.Wrap(&err, "partners: revoke %q", name)
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	now := time.Now()
	row, err := s.q.PartnerRevoke(ctx, tx, &now, name)
	if errors.Is(err, pgx.ErrNoRows) {
		if _, err := s.q.PartnerByName(ctx, tx, name); err != nil {
			return daiban.NoRows(err, "没有合作方「%s」", name)
		}
		return daiban.Errorf(daiban.EINVALIDTRANSITION, "合作方「%s」的密钥已经吊销", name)
	} else if err != nil {
		return err
	}
	if err := s.record(ctx, tx, actor, "", "partner.revoked", map[string]any{"name": name, "key_prefix": row.KeyPrefix}); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// List returns every partner with its delivery figures.
func (s *Store) List(ctx context.Context) (_ []Partner, err error) {
	defer daiban.Wrap(&err, "partners: list")
	rows, err := s.q.PartnerStats(ctx, s.pool)
	if err != nil {
		return nil, err
	}
	out := make([]Partner, 0, len(rows))
	for _, r := range rows {
		p := Partner{ID: r.ID, Name: r.Name, Kind: Kind(r.Kind), WebhookURL: r.WebhookUrl, KeyPrefix: r.KeyPrefix,
			CreatedAt: r.CreatedAt, RevokedAt: r.RevokedAt, Failures: r.Failures, Dead: r.Dead}
		if r.LastDelivery.Unix() > 0 { // epoch: never delivered
			p.LastDelivery = &r.LastDelivery
		}
		out = append(out, p)
	}
	return out, nil
}

var errBadKey = daiban.Errorf(daiban.EUNAUTHENTICATED, "合作方密钥无效或已吊销")

// Authenticate returns the active partner whose API key is key, with the
// key as its signing secret.
func (s *Store) Authenticate(ctx context.Context, key string) (Partner, []byte, error) {
	rest, ok := strings.CutPrefix(key, keyTag)
	prefix, _, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 || len(prefix) != 8 {
		return Partner{}, nil, errBadKey
	}
	row, err := s.q.PartnerByPrefix(ctx, s.pool, prefix)
	if errors.Is(err, pgx.ErrNoRows) {
		return Partner{}, nil, errBadKey
	} else if err != nil {
		return Partner{}, nil, err
	}
	if row.RevokedAt != nil || subtle.ConstantTimeCompare(row.KeyHash, hashKey(key)) != 1 {
		return Partner{}, nil, errBadKey
	}
	return fromRow(row), []byte(key), nil
}

// Secret returns partner id and its signing key, read through db.
func (s *Store) Secret(ctx context.Context, db dbsqlc.DBTX, id int64) (Partner, []byte, error) {
	row, err := s.q.PartnerGet(ctx, db, id)
	if err != nil {
		return Partner{}, nil, daiban.NoRows(err, "合作方不存在")
	}
	key, err := s.keys.OpenString(pii.PartnerKey, row.KeyPrefix, row.KeyEnc)
	if err != nil {
		return Partner{}, nil, err
	}
	return fromRow(row), []byte(key), nil
}

// Active returns the partners of a kind that are in use and have a
// webhook, oldest first.
func (s *Store) Active(ctx context.Context, db dbsqlc.DBTX, kind Kind) ([]Partner, error) {
	rows, err := s.q.PartnerActiveOfKind(ctx, db, string(kind))
	if err != nil {
		return nil, err
	}
	out := make([]Partner, 0, len(rows))
	for _, r := range rows {
		out = append(out, fromRow(r))
	}
	return out, nil
}

// Record appends a ledger entry about a partner call in db's transaction.
func (s *Store) Record(ctx context.Context, db dbsqlc.DBTX, p Partner, typ string, payload map[string]any) error {
	payload["partner"] = p.Name
	return s.record(ctx, db, "partner:"+p.Name, "", typ, payload)
}

func fromRow(r dbsqlc.Partner) Partner {
	return Partner{ID: r.ID, Name: r.Name, Kind: Kind(r.Kind), WebhookURL: r.WebhookUrl, KeyPrefix: r.KeyPrefix, CreatedAt: r.CreatedAt, RevokedAt: r.RevokedAt}
}

// Reseal seals every partner key sealed under an older key version under
// the current one (the second half of "daiban keys rotate-pii") and
// returns how many it re-sealed.
func (s *Store) Reseal(ctx context.Context) (n int, err error) {
	defer daiban.Wrap(&err, "partners: reseal keys")
	rows, err := s.q.PartnerKeys(ctx, s.pool)
	if err != nil {
		return 0, err
	}
	for _, r := range rows {
		if v, ok := pii.VersionOf(r.KeyEnc); ok && v == s.keys.Current() {
			continue
		}
		key, err := s.keys.OpenString(pii.PartnerKey, r.KeyPrefix, r.KeyEnc)
		if err != nil {
			return n, err
		}
		if err := s.q.PartnerKeyReseal(ctx, s.pool, s.keys.SealString(pii.PartnerKey, r.KeyPrefix, key), r.ID); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
