package catalog

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/ledger"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// Change is one catalog entry an import added or changed, with the fields
// that differ (each is a ledger entry).
type Change struct {
	Kind   string   `json:"kind"` // matter, material, chain
	Code   string   `json:"code"`
	New    bool     `json:"new"`
	Fields []string `json:"fields"`
}

// ImportAs validates a whole catalog and writes it in one transaction,
// with one ledger entry per added or changed matter, material and chain
// (codes and field names only). Nothing is written when any row is bad.
func (s *Store) ImportAs(ctx context.Context, c Catalog, actor string) (changes []Change, err error) {
	defer daiban.Wrap(&err, "catalog: import")
	if err := c.Validate(); err != nil {
		return nil, err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// One import at a time: the diff and the writes see the same catalog.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('daiban.catalog'))"); err != nil {
			return err
		}
		old, err := s.current(ctx, tx)
		if err != nil {
			return err
		}
		changes = diff(old, c)
		if err := s.write(ctx, tx, c); err != nil {
			return err
		}
		for _, ch := range changes {
			if err := ledger.Record(ctx, tx, ledger.Meta{Actor: actor, Type: "catalog." + ch.Kind}, ch); err != nil {
				return err
			}
		}
		return nil
	})
	return changes, err
}

func (s *Store) write(ctx context.Context, tx pgx.Tx, c Catalog) error {
	for _, m := range c.Materials {
		if err := s.q.MaterialUpsert(ctx, tx, m.Code, m.Name); err != nil {
			return err
		}
	}
	for _, m := range c.Matters {
		if err := s.writeMatter(ctx, tx, m); err != nil {
			return err
		}
	}
	for _, ch := range c.Chains {
		if err := s.q.ChainUpsert(ctx, tx, ch.Code, ch.Name); err != nil {
			return err
		}
		if err := s.q.ChainDescriptionSet(ctx, tx, ch.Description, ch.Code); err != nil {
			return err
		}
		if err := s.q.ChainMattersClear(ctx, tx, ch.Code); err != nil {
			return err
		}
		for i, mc := range ch.Matters {
			if err := s.q.ChainMatterInsert(ctx, tx, ch.Code, mc, int32(i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Store) writeMatter(ctx context.Context, tx pgx.Tx, m Matter) error {
	err := s.q.MatterUpsert(ctx, tx, dbsqlc.MatterUpsertParams{
		Code: m.Code, Name: m.Name, Department: m.Department, Level: m.Level,
		LimitDays: int32(m.LimitDays), Complexity: m.Complexity, WhereToGo: m.Where,
	})
	if err != nil {
		return err
	}
	flow := m.Flow
	if flow == nil {
		flow = []FlowStep{}
	}
	fj, err := json.Marshal(flow)
	if err != nil {
		return err
	}
	if err := s.q.MatterGuideSet(ctx, tx, dbsqlc.MatterGuideSetParams{Conditions: m.Conditions, LegalBasis: m.LegalBasis, Fees: m.Fees,
		OfficeHours: m.OfficeHours, Phone: m.Phone, Flow: fj, Code: m.Code}); err != nil {
		return err
	}
	if err := s.q.MatterMaterialsClear(ctx, tx, m.Code); err != nil {
		return err
	}
	for i, x := range m.Materials {
		err := s.q.MatterMaterialInsert(ctx, tx, dbsqlc.MatterMaterialInsertParams{
			MatterCode: m.Code, MaterialCode: x.Code, Position: int32(i), Original: x.Original, Count: int32(x.Count),
		})
		if err != nil {
			return err
		}
		if err := s.q.MatterMaterialGuideSet(ctx, tx, dbsqlc.MatterMaterialGuideSetParams{Source: x.Source, BlankForm: x.BlankForm, Sample: x.Sample,
			MatterCode: m.Code, MaterialCode: x.Code}); err != nil {
			return err
		}
	}
	return nil
}

// current reads the whole catalog inside tx.
func (s *Store) current(ctx context.Context, tx pgx.Tx) (Catalog, error) {
	var c Catalog
	mats, err := s.q.MaterialList(ctx, tx)
	if err != nil {
		return c, err
	}
	for _, m := range mats {
		c.Materials = append(c.Materials, struct {
			Code string `json:"code"`
			Name string `json:"name"`
		}{m.Code, m.Name})
	}
	rows, err := s.q.MatterList(ctx, tx)
	if err != nil {
		return c, err
	}
	byMatter, err := s.materialsByMatter(ctx, tx)
	if err != nil {
		return c, err
	}
	for _, r := range rows {
		m, err := fromRow(r)
		if err != nil {
			return c, err
		}
		m.Materials = byMatter[r.Code]
		c.Matters = append(c.Matters, m)
	}
	chains, err := s.q.ChainList(ctx, tx)
	if err != nil {
		return c, err
	}
	descs, err := s.q.ChainDescriptions(ctx, tx)
	if err != nil {
		return c, err
	}
	desc := map[string]string{}
	for _, d := range descs {
		desc[d.Code] = d.Description
	}
	for _, r := range chains {
		c.Chains = append(c.Chains, Chain{Code: r.Code, Name: r.Name, Matters: r.Matters, Description: desc[r.Code]})
	}
	return c, nil
}

// diff lists what c adds to or changes in old.
func diff(old, c Catalog) []Change {
	var out []Change
	oldMat := map[string]string{}
	for _, m := range old.Materials {
		oldMat[m.Code] = m.Name
	}
	for _, m := range c.Materials {
		if n, ok := oldMat[m.Code]; !ok || n != m.Name {
			out = append(out, Change{Kind: "material", Code: m.Code, New: !ok, Fields: []string{"name"}})
		}
	}
	oldMatter := map[string]Matter{}
	for _, m := range old.Matters {
		oldMatter[m.Code] = m
	}
	for _, m := range c.Matters {
		o, ok := oldMatter[m.Code]
		if f := changedFields(o, m); !ok || len(f) > 0 {
			out = append(out, Change{Kind: "matter", Code: m.Code, New: !ok, Fields: f})
		}
	}
	oldChain := map[string]Chain{}
	for _, ch := range old.Chains {
		oldChain[ch.Code] = ch
	}
	for _, ch := range c.Chains {
		o, ok := oldChain[ch.Code]
		if f := changedFields(o, ch); !ok || len(f) > 0 {
			out = append(out, Change{Kind: "chain", Code: ch.Code, New: !ok, Fields: f})
		}
	}
	return out
}

// changedFields names the JSON fields of two values of one struct type
// that differ (an empty and a nil list are the same).
func changedFields[T any](a, b T) []string {
	var ma, mb map[string]json.RawMessage
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	_ = json.Unmarshal(ja, &ma)
	_ = json.Unmarshal(jb, &mb)
	var out []string
	for k, v := range mb {
		if w, ok := ma[k]; !ok || !bytes.Equal(v, w) {
			if !(isEmptyJSON(v) && (!ok || isEmptyJSON(w))) {
				out = append(out, k)
			}
		}
	}
	for k, v := range ma {
		if _, ok := mb[k]; !ok && !isEmptyJSON(v) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func isEmptyJSON(v json.RawMessage) bool {
	s := string(v)
	return s == "null" || s == "[]" || s == `""` || s == "{}"
}

// CSVColumns are the columns a catalog CSV may have (header row, any
// order, code required): one row per matter. A row for a matter already in
// the catalog changes only the columns the file has (an empty cell clears
// that field); a row for a new matter needs name, department, level,
// limit_days and complexity. flow is "步骤|办理人|工作日" steps separated by
// "；" or ";". Materials and chains are changed with the JSON form.
var CSVColumns = []string{"code", "name", "department", "level", "limit_days", "complexity", "where",
	"conditions", "legal_basis", "fees", "office_hours", "phone", "flow"}

// ParseFile reads an import file: JSON (the Catalog form, the whole
// catalog) or CSV (CSVColumns, merged into cur). Errors name the row and
// the field; nothing is imported from a file with any bad row.
func ParseFile(name string, data []byte, cur Catalog) (Catalog, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if strings.HasSuffix(strings.ToLower(name), ".json") || bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		var c Catalog
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return c, daiban.Invalid("file", "JSON 格式有误：%v", err)
		}
		return c, nil
	}
	return parseCSV(data, cur)
}

func parseCSV(data []byte, cur Catalog) (Catalog, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = 0
	header, err := r.Read()
	if err != nil {
		return cur, daiban.Invalid("file", "CSV 缺少表头行（列：%s）", strings.Join(CSVColumns, ","))
	}
	for i, h := range header {
		header[i] = strings.TrimSpace(h)
		if !slices.Contains(CSVColumns, header[i]) {
			return cur, daiban.Invalid("第1行", "未知列 %q（可用列：%s）", h, strings.Join(CSVColumns, ","))
		}
	}
	if !slices.Contains(header, "code") {
		return cur, daiban.Invalid("第1行", "缺少 code 列")
	}
	index := map[string]int{}
	for i, m := range cur.Matters {
		index[m.Code] = i
	}
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return cur, daiban.Invalid(fmt.Sprintf("第%d行", line), "CSV 格式有误：%v", err)
		}
		if err := applyRow(&cur, index, header, rec, line); err != nil {
			return cur, err
		}
	}
	return cur, nil
}

func applyRow(cur *Catalog, index map[string]int, header, rec []string, line int) error {
	row := map[string]string{}
	for i, h := range header {
		row[h] = strings.TrimSpace(rec[i])
	}
	where := func(col string) string { return fmt.Sprintf("第%d行 %s（%s）", line, col, fieldNames[col]) }
	i, known := index[row["code"]]
	var m Matter
	if known {
		m = cur.Matters[i]
	} else {
		if row["code"] == "" {
			return daiban.Invalid(where("code"), "第%d行缺少事项编码", line)
		}
		for _, col := range []string{"name", "department", "level", "limit_days", "complexity"} {
			if row[col] == "" {
				return daiban.Invalid(where(col), "第%d行是新事项 %s，必须填写%s", line, row["code"], fieldNames[col])
			}
		}
		m = Matter{Code: row["code"], Materials: []Material{}}
	}
	for _, col := range header {
		if err := setColumn(&m, col, row[col]); err != nil {
			return daiban.Invalid(where(col), "第%d行%s：%s", line, fieldNames[col], daiban.ErrorMessage(err))
		}
	}
	if err := (Catalog{Materials: cur.Materials, Matters: []Matter{m}}).Validate(); err != nil {
		return daiban.Invalid(where(strings.TrimPrefix(lastField(err), ".")), "第%d行：%s", line, daiban.ErrorMessage(err))
	}
	if known {
		cur.Matters[i] = m
	} else {
		index[m.Code] = len(cur.Matters)
		cur.Matters = append(cur.Matters, m)
	}
	return nil
}

// lastField is the column an error from Validate on a one-matter
// catalog is about ("matters[0].level" → "level").
func lastField(err error) string {
	var e *daiban.Error
	if !errors.As(err, &e) {
		return "code"
	}
	f := strings.TrimPrefix(e.Field, "matters[0]")
	if f == "" {
		return "code"
	}
	if k := strings.Index(f[1:], "["); k >= 0 {
		f = f[:k+1]
	}
	return strings.TrimPrefix(f, ".")
}

func setColumn(m *Matter, col, v string) error {
	switch col {
	case "name":
		m.Name = v
	case "department":
		m.Department = v
	case "level":
		m.Level = v
	case "limit_days":
		n, err := strconv.Atoi(v)
		if err != nil {
			return daiban.Invalid(col, "应为整数（工作日），不是 %q", v)
		}
		m.LimitDays = n
	case "complexity":
		m.Complexity = v
	case "where":
		m.Where = v
	case "conditions":
		m.Conditions = v
	case "legal_basis":
		m.LegalBasis = v
	case "fees":
		m.Fees = v
	case "office_hours":
		m.OfficeHours = v
	case "phone":
		m.Phone = v
	case "flow":
		steps, err := ParseFlow(v)
		if err != nil {
			return err
		}
		m.Flow = steps
	}
	return nil
}

// ParseFlow reads "步骤|办理人|工作日" steps separated by "；" or ";".
func ParseFlow(v string) ([]FlowStep, error) {
	var out []FlowStep
	for i, part := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == '；' }) {
		bits := strings.Split(part, "|")
		if len(bits) != 3 {
			return nil, daiban.Invalid("flow", "第 %d 步应写作“步骤|办理人|工作日”", i+1)
		}
		days, err := strconv.Atoi(strings.TrimSpace(bits[2]))
		if err != nil {
			return nil, daiban.Invalid("flow", "第 %d 步的工作日应为整数，不是 %q", i+1, bits[2])
		}
		out = append(out, FlowStep{Step: strings.TrimSpace(bits[0]), Who: strings.TrimSpace(bits[1]), Days: days})
	}
	return out, nil
}

// Current returns the whole catalog as stored (the base a CSV import
// merges into).
func (s *Store) Current(ctx context.Context) (c Catalog, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		c, err = s.current(ctx, tx)
		return err
	})
	return c, err
}
