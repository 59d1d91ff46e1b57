package ledger

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"filippo.io/torchwood"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
	"sigsum.org/sigsum-go/pkg/checkpoint"
)

// RemoteOptions say what VerifyRemote checks, knowing only the server's
// address and the published keys.
type RemoteOptions struct {
	URL         string   // the server, e.g. https://daiban.example.gov.cn
	LogKey      string   // the log's note verifier key (README, /ledger/key)
	WitnessKeys []string // cosignature verifier keys
	Quorum      int      // how many of WitnessKeys must cosign; 0: all
	Kept        string   // a checkpoint kept earlier (signed note text), or ""
	Document    string   // hex SHA-256 of a sealed document that must be included, or ""
}

// VerifyRemote checks a server's public ledger from the outside: the
// checkpoint's log signature and witness quorum, every leaf of the entry
// tiles against the hash tiles the checkpoint authenticates, the tree
// rebuilt from the leaves against the checkpoint's root, consistency with
// a kept checkpoint, and the inclusion of a document. It fails with a
// *VerifyError naming the first leaf that does not match.
func VerifyRemote(ctx context.Context, o RemoteOptions, out io.Writer) error {
	fetch, err := torchwood.NewTileFetcher(strings.TrimRight(o.URL, "/") + "/ledger/")
	if err != nil {
		return err
	}
	v, err := note.NewVerifier(strings.TrimSpace(o.LogKey))
	if err != nil {
		return fmt.Errorf("台账公钥格式错误: %w", err)
	}
	msg, err := fetch.ReadEndpoint(ctx, "checkpoint")
	if err != nil {
		return fmt.Errorf("无法读取 %s/ledger/checkpoint: %w", o.URL, err)
	}
	cp, err := OpenCheckpoint(msg, v)
	if err != nil {
		return fmt.Errorf("公开检查点: %w", err)
	}
	fmt.Fprintf(out, "公开检查点：%d 条记录，台账签名有效\n", cp.Size)
	if err := checkQuorum(msg, o, out); err != nil {
		return err
	}
	tree := tlog.Tree{N: cp.Size, Hash: cp.Root}
	hr := torchwood.TileHashReaderWithContext(ctx, tree, fetch)
	kept, err := keptCheckpoint(o.Kept, v, cp.Size)
	if err != nil {
		return err
	}
	found, err := rebuild(ctx, fetch, hr, cp, kept, o.Document)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "已由瓦片逐条重算 %d 条记录的哈希与树根：与检查点一致\n", cp.Size)
	if kept != nil {
		proof, err := tlog.ProveTree(cp.Size, kept.Size, hr)
		if err == nil {
			err = tlog.CheckTree(proof, cp.Size, cp.Root, kept.Size, kept.Root)
		}
		if err != nil {
			return &VerifyError{Index: kept.Size, Reason: fmt.Sprintf("与保存的检查点（%d 条）不一致：历史被改写", kept.Size)}
		}
		fmt.Fprintf(out, "与保存的检查点（%d 条）一致性证明有效\n", kept.Size)
	}
	if o.Document != "" {
		if found < 0 {
			return fmt.Errorf("台账中没有 SHA-256 为 %s 的盖章文书", o.Document)
		}
		return proveDocument(hr, cp, found, o.Document, out)
	}
	return nil
}

// checkQuorum counts the valid cosignatures of the given witness keys.
func checkQuorum(msg []byte, o RemoteOptions, out io.Writer) error {
	if len(o.WitnessKeys) == 0 {
		fmt.Fprintln(out, "注意：未提供见证公钥（--witness-key），未核对见证联署")
		return nil
	}
	quorum := o.Quorum
	if quorum <= 0 {
		quorum = len(o.WitnessKeys)
	}
	var sc checkpoint.Checkpoint
	if err := sc.FromASCII(bytes.NewReader(msg)); err != nil {
		return fmt.Errorf("公开检查点格式错误: %w", err)
	}
	lines := cosignatureLines(msg)
	n := 0
	for _, k := range o.WitnessKeys {
		nv, err := ParseWitnessKey(k)
		if err != nil {
			return err
		}
		if _, err := sc.VerifyCosignatureByKey(lines, &nv.PublicKey); err == nil {
			n++
			fmt.Fprintf(out, "见证 %s 的联署有效\n", nv.Name)
		} else {
			fmt.Fprintf(out, "见证 %s 未联署或联署无效\n", nv.Name)
		}
	}
	if n < quorum {
		return fmt.Errorf("见证联署不足：%d 个有效，需要 %d 个", n, quorum)
	}
	return nil
}

// cosignatureLines parses the note's signature lines that have the size of
// a cosignature (the log's own signature is shorter).
func cosignatureLines(msg []byte) []checkpoint.CosignatureLine {
	_, sigs, _ := bytes.Cut(msg, []byte("\n\n"))
	var out []checkpoint.CosignatureLine
	sc := bufio.NewScanner(bytes.NewReader(sigs))
	for sc.Scan() {
		if l, err := checkpoint.CosignatureLinesFromASCII(strings.NewReader(sc.Text() + "\n")); err == nil {
			out = append(out, l...)
		}
	}
	return out
}

func keptCheckpoint(path string, v note.Verifier, size int64) (*Checkpoint, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("无法读取检查点文件: %w", err)
	}
	cp, err := OpenCheckpoint(b, v)
	if err != nil {
		return nil, fmt.Errorf("保存的检查点 %s: %w", path, err)
	}
	if cp.Size > size {
		return nil, &VerifyError{Index: size, Reason: fmt.Sprintf("公开检查点只有 %d 条，少于保存的检查点的 %d 条：记录被删除", size, cp.Size)}
	}
	return &cp, nil
}

// rebuild reads every entry tile, checks each leaf's hash against the
// authenticated hash tiles and recomputes the tree; it returns the index of
// the sealed document with hex SHA-256 doc (-1 when none).
func rebuild(ctx context.Context, fetch *torchwood.TileFetcher, hr tlog.HashReader, cp Checkpoint, kept *Checkpoint, doc string) (int64, error) {
	var f frontier
	found := int64(-1)
	for start := int64(0); start < cp.Size; start += torchwood.TileWidth {
		w := min(cp.Size-start, torchwood.TileWidth)
		t := tlog.Tile{H: torchwood.TileHeight, L: -1, N: start / torchwood.TileWidth, W: int(w)}
		data, err := fetch.ReadTiles(ctx, []tlog.Tile{t})
		if err != nil {
			return -1, fmt.Errorf("无法读取瓦片 %s: %w", torchwood.TilePath(t), err)
		}
		idx := make([]int64, w)
		for i := range idx {
			idx[i] = tlog.StoredHashIndex(0, start+int64(i))
		}
		want, err := hr.ReadHashes(idx)
		if err != nil {
			return -1, &VerifyError{Index: start, Reason: "哈希瓦片与公开检查点不符（树被改写）: " + err.Error()}
		}
		rest := data[0]
		for i := int64(0); i < w; i++ {
			var leaf []byte
			if leaf, rest, err = torchwood.ReadTileEntry(rest); err != nil {
				return -1, &VerifyError{Index: start + i, Reason: "记录瓦片格式错误"}
			}
			h := tlog.RecordHash(leaf)
			if h != want[i] {
				return -1, &VerifyError{Index: start + i, Reason: "记录内容与已发布的哈希不符（记录被改动）"}
			}
			f.push(h)
			if kept != nil && f.n == kept.Size && f.root() != kept.Root {
				return -1, &VerifyError{Index: kept.Size - 1, Reason: "前 " + fmt.Sprint(kept.Size) + " 条记录的树根与保存的检查点不符"}
			}
			if doc != "" && found < 0 && sealsDocument(leaf, doc) {
				found = start + i
			}
		}
	}
	if f.root() != cp.Root {
		return -1, &VerifyError{Index: cp.Size - 1, Reason: "由记录重算的树根与公开检查点不符"}
	}
	return found, nil
}

// sealsDocument tells whether a leaf is the document.sealed entry of the
// document with hex SHA-256 sum.
func sealsDocument(leaf []byte, sum string) bool {
	var parts []json.RawMessage
	if json.Unmarshal(leaf, &parts) != nil || len(parts) != 7 || string(parts[5]) != `"document.sealed"` {
		return false
	}
	var p struct {
		SHA256 string `json:"sha256"`
	}
	return json.Unmarshal(parts[6], &p) == nil && strings.EqualFold(p.SHA256, sum)
}

func proveDocument(hr tlog.HashReader, cp Checkpoint, index int64, sum string, out io.Writer) error {
	leaf, err := hr.ReadHashes([]int64{tlog.StoredHashIndex(0, index)})
	if err != nil {
		return err
	}
	proof, err := tlog.ProveRecord(cp.Size, index, hr)
	if err == nil {
		err = tlog.CheckRecord(proof, cp.Size, cp.Root, index, leaf[0])
	}
	if err != nil {
		return &VerifyError{Index: index, Reason: "文书记录的包含证明无效"}
	}
	fmt.Fprintf(out, "文书 %s 在台账第 %d 条，包含证明有效（%d 个哈希）\n", sum, index, len(proof))
	return nil
}

// DocumentSHA256 returns the hex SHA-256 of a file.
func DocumentSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("无法读取文书: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
