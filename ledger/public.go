package ledger

import (
	"context"
	"net/http"
	"strings"

	"filippo.io/torchwood"
	"github.com/labstack/echo/v4"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/policies/httpapi"
)

// Cache lifetimes of the public ledger (C2SP tlog-tiles). A full tile never
// changes, so a CDN or a browser may keep it forever; a partial tile is
// replaced by a wider one as the log grows; the checkpoint moves on every
// few seconds.
const (
	cacheFullTile    = "public, max-age=31536000, immutable"
	cachePartialTile = "public, max-age=60"
	cacheCheckpoint  = "public, max-age=5"
	cacheKey         = "public, max-age=86400"
)

// PublicRoutes are the log's public endpoints (no sign-in): the cosigned
// checkpoint, the log's verifier key, and the tiles of the published tree.
func (l *Log) PublicRoutes() []httpapi.Route {
	return []httpapi.Route{
		{Method: http.MethodGet, Path: "/ledger/checkpoint", Public: true, Handler: l.handlePublicCheckpoint},
		{Method: http.MethodGet, Path: "/ledger/key", Public: true, Handler: l.handleKey},
		{Method: http.MethodGet, Path: "/ledger/tile/*", Public: true, Handler: l.handleTile},
	}
}

func (l *Log) handlePublicCheckpoint(c echo.Context) error {
	cp, err := l.Published(c.Request().Context())
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", cacheCheckpoint)
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", []byte(cp.Note))
}

func (l *Log) handleKey(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", cacheKey)
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", []byte(l.signer.VerifierKey()+"\n"))
}

// handleTile serves tile/{L}/{N}[.p/{W}] (hashes) and tile/entries/{N}[.p/{W}]
// (the leaves, each a big-endian uint16 length and the leaf bytes) of the
// published tree.
func (l *Log) handleTile(c echo.Context) error {
	ctx := c.Request().Context()
	t, err := torchwood.ParseTilePath("tile/" + c.Param("*"))
	if err != nil || t.H != torchwood.TileHeight || t.L > 7 {
		return daiban.Errorf(daiban.ENOTFOUND, "没有这个瓦片：%s", strings.TrimPrefix(c.Request().URL.Path, "/ledger/"))
	}
	cp, err := l.Published(ctx)
	if err != nil {
		return err
	}
	if !tileWithin(t, cp.Size) {
		return daiban.Errorf(daiban.ENOTFOUND, "瓦片超出已发布的检查点（%d 条记录）", cp.Size)
	}
	var data []byte
	if t.L == -1 {
		data, err = l.entryBundle(ctx, t)
	} else {
		data, err = tlog.ReadTileData(t, dbHashReader{ctx, l.pool})
	}
	if err != nil {
		return err
	}
	cache := cachePartialTile
	if t.W == torchwood.TileWidth {
		cache = cacheFullTile
	}
	c.Response().Header().Set("Cache-Control", cache)
	return c.Blob(http.StatusOK, "application/octet-stream", data)
}

// tileWithin tells whether the tree of size leaves has every hash (or
// entry) the tile holds.
func tileWithin(t tlog.Tile, size int64) bool {
	level := max(t.L, 0)
	have := size >> (uint(level) * uint(t.H))
	return t.N >= 0 && t.W > 0 && t.N*torchwood.TileWidth+int64(t.W) <= have
}

// entryBundle reads the leaves of an entries tile.
func (l *Log) entryBundle(ctx context.Context, t tlog.Tile) ([]byte, error) {
	from := t.N * torchwood.TileWidth
	rows, err := queries.LedgerBundle(ctx, l.pool, from, from+int64(t.W))
	if err != nil {
		return nil, err
	}
	if len(rows) != t.W {
		return nil, daiban.Errorf(daiban.EINTERNAL, "ledger: tile %s has %d of %d leaves", torchwood.TilePath(t), len(rows), t.W)
	}
	var out []byte
	for _, r := range rows {
		e := entry(0, 0, r.At, r.Actor, r.CaseID, r.Region, r.Type, r.Payload)
		if out, err = torchwood.AppendTileEntry(out, e.Leaf()); err != nil {
			return nil, err
		}
	}
	return out, nil
}
