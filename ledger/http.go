package ledger

import (
	"context"
	"encoding/base64"
	"encoding/csv"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/policies/httpapi"
)

// Routes returns the ledger's endpoints. caseScope locates a case for
// GET /api/v1/cases/:id/ledger (the cases package provides it), so the
// guard answers 404 for a case outside the user's scope.
func (l *Log) Routes(caseScope httpapi.ScopeFunc) []httpapi.Route {
	return []httpapi.Route{
		{Method: http.MethodGet, Path: "/api/v1/ledger/checkpoint", Obj: "ledger", Act: "read", Handler: l.handleCheckpoint,
			Doc: httpapi.Doc{Summary: "台账最新签名检查点", Response: checkpointDoc{}}},
		{Method: http.MethodGet, Path: "/api/v1/ledger/proof", Obj: "ledger", Act: "read", Handler: l.handleProof,
			Doc: httpapi.Doc{Summary: "台账记录的包含证明（RFC 6962）", Query: proofQuery{}, Response: Inclusion{}}},
		{Method: http.MethodGet, Path: "/api/v1/cases/:id/ledger", Obj: "case", Act: "ledger", Scope: caseScope, Handler: l.handleCaseLedger,
			Doc: httpapi.Doc{Summary: "一个案件的台账记录", Response: entriesDoc{}}},
		{Method: http.MethodGet, Path: "/api/v1/ledger/export.csv", Obj: "ledger", Act: "export", Handler: l.handleExport,
			Doc: httpapi.Doc{Summary: "导出台账（CSV，可逐条重算叶子哈希）", Produces: "text/csv"}},
	}
}

// The answers of the routes, for their descriptions.
type (
	checkpointDoc struct {
		Size int64     `json:"size"`
		Root tlog.Hash `json:"root" doc:"树根哈希（base64）"`
		Note string    `json:"note" doc:"签名检查点（C2SP signed note）"`
	}
	proofQuery struct {
		Index int64 `query:"index,required" doc:"叶子序号"`
		Size  int64 `query:"size,required" doc:"树的大小"`
	}
	entriesDoc struct {
		Items []Entry `json:"items"`
	}
)

// handleCheckpoint: {size, root (base64), note}.
func (l *Log) handleCheckpoint(c echo.Context) error {
	cp, err := l.Checkpoint(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"size": cp.Size, "root": cp.Root, "note": cp.Note})
}

// handleProof: ?index=N&size=M → {index, size, leaf_hash, proof, root}.
func (l *Log) handleProof(c echo.Context) error {
	index, err := intParam(c, "index")
	if err != nil {
		return err
	}
	size, err := intParam(c, "size")
	if err != nil {
		return err
	}
	inc, err := l.Inclusion(c.Request().Context(), index, size)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, inc)
}

func intParam(c echo.Context, name string) (int64, error) {
	s := c.QueryParam(name)
	if s == "" {
		return 0, daiban.Invalid(name, "缺少参数 %s", name)
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, daiban.Invalid(name, "参数 %s 应为非负整数", name)
	}
	return v, nil
}

// handleCaseLedger: {items: [entries]} of one case.
func (l *Log) handleCaseLedger(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return daiban.Invalid("id", "案件编号格式错误")
	}
	items, err := l.CaseEntries(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

// exportQuery lists the integrated entries whose region lies inside $1, in
// leaf order. Entries without a case have region "" and only appear for an
// empty scope.
const exportQuery = `SELECT l.leaf_index, e.at, e.actor, e.case_id, e.region, e.type, e.payload
FROM ledger_leaves l
JOIN ledger_entries e ON e.id = l.entry_id
WHERE left(e.region, length($1::text)) = $1::text
ORDER BY l.leaf_index`

// ExportHeader is the CSV header of the export. For people: leaf index,
// Beijing time, the event's Chinese name, actor, case id ("" for none),
// region. For checking: the time exactly as in the leaf (UTC), the entry
// type's code, the payload (the stored canonical JSON) and the leaf hash
// (base64 of the RFC 6962 leaf hash, recomputed from the row with the leaf
// encoding: time, actor, case id, region, type and payload).
var ExportHeader = []string{"序号", "北京时间", "事件", "操作人", "案件ID", "地区", "记录时间（UTC）", "类型代码", "内容", "叶子哈希"}

// Export columns the leaf encoding is recomputed from.
const (
	ColIndex, ColLocalTime, ColName, ColActor, ColCase, ColRegion, ColTime, ColType, ColPayload, ColLeafHash = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9
)

// SetEventNames gives the export the Chinese names of entry types (the
// ledger itself knows none); without it the export names them 台账记录.
func (l *Log) SetEventNames(f func(typ string) string) { l.names = f }

func (l *Log) eventName(typ string) string {
	if l.names != nil {
		if n := l.names(typ); n != "" {
			return n
		}
	}
	return "台账记录"
}

// beijing is the time zone of the export's human columns.
var beijing = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}()

// handleExport streams the ledger as CSV (UTF-8 with a byte-order mark so
// that Excel shows Chinese), limited to the entries of cases inside the
// user's region.
func (l *Log) handleExport(c echo.Context) error {
	ctx := c.Request().Context()
	scope := httpapi.CurrentPrincipal(c).Region
	// One read-only snapshot, streamed in leaf order (see streamSettings).
	tx, err := l.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, streamSettings); err != nil {
		return err
	}
	rows, err := tx.Query(ctx, exportQuery, scope)
	if err != nil {
		return err
	}
	defer rows.Close()
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	day := time.Now().In(beijing).Format("20060102")
	h.Set(echo.HeaderContentDisposition, httpapi.ContentDisposition("attachment", "ledger-"+day+".csv", "台账-"+day+".csv"))
	h.Set("Cache-Control", "no-store")
	c.Response().WriteHeader(http.StatusOK)
	w := c.Response()
	if _, err := w.Write([]byte("\xEF\xBB\xBF")); err != nil {
		return nil
	}
	cw := csv.NewWriter(w)
	_ = cw.Write(ExportHeader)
	var (
		e      Entry
		caseID *int64
		rec    = make([]string, len(ExportHeader))
		tbuf   []byte
		n      int
	)
	for rows.Next() {
		if err := rows.Scan(&e.Index, &e.At, &e.Actor, &caseID, &e.Region, &e.Type, &e.Payload); err != nil {
			l.logger.Error("ledger export failed", "request_id", httpapi.RequestID(c), "err", err.Error())
			return nil
		}
		e.CaseID = 0
		if caseID != nil {
			e.CaseID = *caseID
		}
		leafHash := e.LeafHash()
		tbuf = appendTime(tbuf[:0], e.At.UnixMicro())
		rec[ColIndex] = strconv.FormatInt(e.Index, 10)
		rec[ColLocalTime] = e.At.In(beijing).Format("2006-01-02 15:04:05")
		rec[ColName] = l.eventName(e.Type)
		rec[ColActor] = e.Actor
		rec[ColCase] = ""
		if e.CaseID != 0 {
			rec[ColCase] = strconv.FormatInt(e.CaseID, 10)
		}
		rec[ColRegion] = e.Region
		rec[ColTime] = string(tbuf)
		rec[ColType] = e.Type
		rec[ColPayload] = string(e.Payload)
		rec[ColLeafHash] = base64.StdEncoding.EncodeToString(leafHash[:])
		if err := cw.Write(rec); err != nil {
			return nil // the client went away
		}
		if n++; n%1000 == 0 {
			cw.Flush()
			w.Flush()
		}
	}
	cw.Flush()
	// Headers are sent: a failure now can only cut the download short,
	// which the client sees as a truncated file.
	if err := rows.Err(); err != nil {
		l.logger.Error("ledger export failed", "request_id", httpapi.RequestID(c), "err", err.Error())
	}
	return nil
}
