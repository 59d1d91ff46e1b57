package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/tlog"
	"sigsum.org/sigsum-go/pkg/checkpoint"
	"sigsum.org/sigsum-go/pkg/crypto"
	"sigsum.org/sigsum-go/pkg/requests"
	"sigsum.org/sigsum-go/pkg/types"

	"github.com/daiban/daiban"
)

// WitnessRef is one configured witness: where it listens and the key its
// cosignatures verify with.
type WitnessRef struct {
	URL      string // prefix of POST <URL>/add-checkpoint
	Key      string // cosignature verifier key
	verifier checkpoint.NoteVerifier
	client   *http.Client
}

// ParseWitnessKey parses a cosignature verifier key
// ("<name>+<hash>+<base64(0x04 || Ed25519 key)>").
func ParseWitnessKey(vkey string) (checkpoint.NoteVerifier, error) {
	var nv checkpoint.NoteVerifier
	if err := nv.FromString(strings.TrimSpace(vkey)); err != nil || nv.Type != checkpoint.SigTypeCosignature {
		return nv, fmt.Errorf("见证公钥 %q 格式错误（应为 cosignature/v1 公钥）", vkey)
	}
	if want := checkpoint.NewNoteVerifier(nv.Name, nv.Type, &nv.PublicKey); want.KeyId != nv.KeyId {
		return nv, fmt.Errorf("见证公钥 %q 的哈希与密钥不符", vkey)
	}
	return nv, nil
}

// ParseWitnesses parses DAIBAN_WITNESSES: entries separated by commas or
// newlines, each "URL KEY".
func ParseWitnesses(s string) ([]WitnessRef, error) {
	var out []WitnessRef
	for _, item := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == ';' }) {
		f := strings.Fields(item)
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 || !(strings.HasPrefix(f[0], "http://") || strings.HasPrefix(f[0], "https://")) {
			return nil, daiban.Invalid("DAIBAN_WITNESSES", "见证配置 %q 应为「地址 公钥」", strings.TrimSpace(item))
		}
		nv, err := ParseWitnessKey(f[1])
		if err != nil {
			return nil, daiban.Invalid("DAIBAN_WITNESSES", "%v", err)
		}
		out = append(out, WitnessRef{URL: strings.TrimSuffix(f[0], "/"), Key: f[1], verifier: nv, client: &http.Client{Timeout: 10 * time.Second}})
	}
	return out, nil
}

// LocalWitness is a WitnessRef that reaches w in the same process (the
// demo's witness), through the same HTTP handler a remote one serves.
func LocalWitness(w *Witness) WitnessRef {
	nv, _ := ParseWitnessKey(w.VerifierKey())
	return WitnessRef{URL: "http://local-witness", Key: w.VerifierKey(), verifier: nv,
		client: &http.Client{Transport: handlerTransport{w.Handler()}}}
}

// handlerTransport answers requests with an in-process handler.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// Publisher gets the latest checkpoint cosigned by the witnesses and, once
// a quorum has cosigned, publishes it (ledger_cosigned): only such a
// checkpoint is served at /ledger/checkpoint.
type Publisher struct {
	log       *Log
	witnesses []WitnessRef
	quorum    int

	mu    sync.Mutex
	sizes map[int]uint64 // the size each witness last said it has
}

// NewPublisher returns a publisher for l. quorum <= 0 means all witnesses.
func NewPublisher(l *Log, witnesses []WitnessRef, quorum int) (*Publisher, error) {
	if quorum <= 0 {
		quorum = len(witnesses)
	}
	if quorum == 0 || quorum > len(witnesses) {
		return nil, daiban.Invalid("DAIBAN_WITNESS_QUORUM", "见证法定数 %d 无效：已配置 %d 个见证", quorum, len(witnesses))
	}
	return &Publisher{log: l, witnesses: witnesses, quorum: quorum, sizes: map[int]uint64{}}, nil
}

// Witnesses returns the configured witnesses' keys and the quorum.
func (p *Publisher) Witnesses() (keys []string, quorum int) {
	for _, w := range p.witnesses {
		keys = append(keys, w.Key)
	}
	return keys, p.quorum
}

// Run publishes every interval until ctx ends.
func (p *Publisher) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var last string
	var lastAt time.Time
	for {
		// A witness that is down is reported when the reason changes and
		// then once a minute, not every second.
		if _, err := p.Publish(ctx); err != nil && ctx.Err() == nil {
			if msg := err.Error(); msg != last || time.Since(lastAt) > time.Minute {
				p.log.logger.Warn("ledger checkpoint not cosigned", "err", msg)
				last, lastAt = msg, time.Now()
			}
		} else if err == nil {
			last = ""
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Publish sends the latest checkpoint to every witness and stores it with
// their cosignatures when at least quorum cosigned. It returns the size of
// the published checkpoint (0 when nothing new was published).
func (p *Publisher) Publish(ctx context.Context) (_ int64, err error) {
	defer daiban.Wrap(&err, "ledger: publish")
	p.mu.Lock()
	defer p.mu.Unlock()
	cp, err := p.log.Checkpoint(ctx)
	if daiban.ErrorCode(err) == daiban.ENOTFOUND {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	if pub, err := p.log.Published(ctx); err == nil && pub.Size >= cp.Size && p.hasQuorum(pub.Note) {
		return 0, nil
	}
	var sc checkpoint.Checkpoint
	if err := sc.FromASCII(strings.NewReader(cp.Note)); err != nil {
		return 0, fmt.Errorf("checkpoint: %w", err)
	}
	var lines bytes.Buffer
	var fails []string
	n := 0
	for i := range p.witnesses {
		line, err := p.cosign(ctx, i, sc, cp)
		if err != nil {
			fails = append(fails, p.witnesses[i].URL+": "+err.Error())
			continue
		}
		lines.Write(line)
		n++
	}
	if n < p.quorum {
		return 0, fmt.Errorf("%d of %d witnesses cosigned size %d, quorum %d: %s", n, len(p.witnesses), cp.Size, p.quorum, strings.Join(fails, "; "))
	}
	return cp.Size, queries.LedgerCosignedInsert(ctx, p.log.pool, cp.Size, cp.Note+lines.String())
}

// hasQuorum tells whether a published note carries valid cosignatures of
// a quorum of the configured witnesses (not so after the configuration
// changed: the checkpoint is then cosigned again).
func (p *Publisher) hasQuorum(msg string) bool {
	var sc checkpoint.Checkpoint
	if sc.FromASCII(strings.NewReader(msg)) != nil {
		return false
	}
	lines := cosignatureLines([]byte(msg))
	n := 0
	for _, w := range p.witnesses {
		if _, err := sc.VerifyCosignatureByKey(lines, &w.verifier.PublicKey); err == nil {
			n++
		}
	}
	return n >= p.quorum
}

// cosign asks witness i to cosign cp, proving consistency from the size
// the witness has; a 409 tells that size, and the request is made again.
func (p *Publisher) cosign(ctx context.Context, i int, sc checkpoint.Checkpoint, cp Checkpoint) ([]byte, error) {
	w := p.witnesses[i]
	for attempt := 0; attempt < 2; attempt++ {
		old := p.sizes[i]
		req := requests.AddCheckpoint{OldSize: old, Checkpoint: sc}
		if old > 0 && int64(old) < cp.Size {
			proof, err := tlog.ProveTree(cp.Size, int64(old), dbHashReader{ctx, p.log.pool})
			if err != nil {
				return nil, err
			}
			for _, h := range proof {
				req.Proof.Path = append(req.Proof.Path, crypto.Hash(h))
			}
		} else if int64(old) > cp.Size {
			return nil, fmt.Errorf("witness has size %d, more than the log's %d", old, cp.Size)
		}
		status, body, err := post(ctx, w, &req)
		if err != nil {
			return nil, err
		}
		switch status {
		case http.StatusOK:
			return p.checkCosignature(i, sc, cp, body)
		case http.StatusConflict:
			size, err := strconv.ParseUint(strings.TrimSpace(string(body)), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("409 without a size: %q", body)
			}
			p.sizes[i] = size
			continue
		default:
			return nil, fmt.Errorf("witness answered %d: %s", status, strings.TrimSpace(string(body)))
		}
	}
	return nil, errors.New("witness keeps changing its size")
}

func post(ctx context.Context, w WitnessRef, req *requests.AddCheckpoint) (int, []byte, error) {
	var buf bytes.Buffer
	if err := req.ToASCII(&buf); err != nil {
		return 0, nil, err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL+"/"+string(types.EndpointAddCheckpoint), &buf)
	if err != nil {
		return 0, nil, err
	}
	resp, err := w.client.Do(hr)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, body, err
}

// checkCosignature keeps the witness's line only when it verifies with the
// configured key.
func (p *Publisher) checkCosignature(i int, sc checkpoint.Checkpoint, cp Checkpoint, body []byte) ([]byte, error) {
	w := p.witnesses[i]
	lines, err := checkpoint.CosignatureLinesFromASCII(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if _, err := sc.VerifyCosignatureByKey(lines, &w.verifier.PublicKey); err != nil {
		return nil, fmt.Errorf("cosignature: %w", err)
	}
	p.sizes[i] = uint64(cp.Size)
	var out bytes.Buffer
	for _, l := range lines {
		if l.KeyId == w.verifier.KeyId {
			if err := l.ToASCII(&out); err != nil {
				return nil, err
			}
		}
	}
	return out.Bytes(), nil
}

// Published returns the latest checkpoint a quorum of witnesses cosigned:
// its note carries the log's signature and the cosignatures.
func (l *Log) Published(ctx context.Context) (_ Checkpoint, err error) {
	row, err := queries.LedgerCosignedLatest(ctx, l.pool)
	if errors.Is(err, pgx.ErrNoRows) {
		return Checkpoint{}, daiban.Errorf(daiban.ENOTFOUND, "台账尚无经见证联署的检查点")
	} else if err != nil {
		return Checkpoint{}, err
	}
	cp, err := l.signer.Open([]byte(row.Note))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("ledger: published checkpoint: %v", err)
	}
	cp.At = row.At.UTC()
	return cp, nil
}
