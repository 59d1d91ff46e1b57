// Package catalog is the matter catalog (事项目录): the matters a center
// handles, each with its department, approval level, promised time limit in
// working days and required materials, and the chains (一件事) that bundle
// several matters with each shared material collected once.
package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// Level is an approval level: the authority that decides a matter, and
// the levels a case is forwarded to (转报上级).
type Level string

// The approval levels.
const (
	County   Level = "county"
	City     Level = "city"
	Province Level = "province"
	National Level = "national"
)

// Levels lists every approval level, lowest first.
var Levels = []Level{County, City, Province, National}

var levelNames = map[Level]string{County: "县级", City: "市级", Province: "省级", National: "国家级"}

// Name is the level's Chinese label.
func (l Level) Name() string { return levelNames[l] }

// Complexities are the matter complexities as stored.
var Complexities = []string{"simple", "general", "complex"}

// ComplexityNames are the Chinese labels users see.
var ComplexityNames = map[string]string{"simple": "即办", "general": "领办", "complex": "代办"}

// Material is a required material of a matter. Source, BlankForm and
// Sample are the guide's: where the applicant gets it, and the URLs of
// the blank form and the filled-in sample the department publishes.
type Material struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	Original  bool   `json:"original"`
	Count     int    `json:"count"`
	Source    string `json:"source,omitempty"`
	BlankForm string `json:"blank_form,omitempty"`
	Sample    string `json:"sample,omitempty"`
}

// Matter is one catalog entry.
type Matter struct {
	Code       string     `json:"code"`
	Name       string     `json:"name"`
	Department string     `json:"department"`
	Level      string     `json:"level"`
	LimitDays  int        `json:"limit_days"`
	Complexity string     `json:"complexity"`
	Where      string     `json:"where"`
	Materials  []Material `json:"materials"`
	Guide
}

// Chain is a 一件事 bundle of matters.
type Chain struct {
	Code    string   `json:"code"`
	Name    string   `json:"name"`
	Matters []string `json:"matters"`
	// Description says what the 一件事 covers, for its guide.
	Description string `json:"description,omitempty"`
}

// Catalog is everything the catalog holds, as imported or listed.
type Catalog struct {
	Materials []struct {
		Code string `json:"code"`
		Name string `json:"name"`
	} `json:"materials"`
	Matters []Matter `json:"matters"`
	Chains  []Chain  `json:"chains"`
}

// Store reads and writes the catalog.
type Store struct {
	pool *pgxpool.Pool
	q    *dbsqlc.Queries
}

// NewStore returns a Store on pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool, q: dbsqlc.New()} }

// List returns every matter with its materials, ordered by code.
func (s *Store) List(ctx context.Context) ([]Matter, error) {
	rows, err := s.q.MatterList(ctx, s.pool)
	if err != nil {
		return nil, err
	}
	byMatter, err := s.materialsByMatter(ctx, s.pool)
	if err != nil {
		return nil, err
	}
	out := make([]Matter, 0, len(rows))
	for _, r := range rows {
		m, err := fromRow(r)
		if err != nil {
			return nil, err
		}
		m.Materials = byMatter[r.Code]
		if m.Materials == nil {
			m.Materials = []Material{}
		}
		out = append(out, m)
	}
	return out, nil
}

// Get returns one matter with its materials, or not_found.
func (s *Store) Get(ctx context.Context, code string) (_ Matter, err error) {
	defer daiban.Wrap(&err, "catalog: get matter %s", code)
	r, err := s.q.MatterGet(ctx, s.pool, code)
	if err != nil {
		return Matter{}, daiban.NoRows(err, "事项 %q 不存在", code)
	}
	m, err := fromRow(r)
	if err != nil {
		return Matter{}, err
	}
	byMatter, err := s.materialsByMatter(ctx, s.pool)
	if err != nil {
		return Matter{}, err
	}
	m.Materials = byMatter[code]
	if m.Materials == nil {
		m.Materials = []Material{}
	}
	return m, nil
}

// Chains returns every chain with its matter codes in order.
func (s *Store) Chains(ctx context.Context) ([]Chain, error) {
	rows, err := s.q.ChainList(ctx, s.pool)
	if err != nil {
		return nil, err
	}
	descs, err := s.q.ChainDescriptions(ctx, s.pool)
	if err != nil {
		return nil, err
	}
	desc := map[string]string{}
	for _, d := range descs {
		desc[d.Code] = d.Description
	}
	out := make([]Chain, 0, len(rows))
	for _, r := range rows {
		out = append(out, Chain{Code: r.Code, Name: r.Name, Matters: r.Matters, Description: desc[r.Code]})
	}
	return out, nil
}

// Import validates a whole catalog and writes it in one transaction: either
// every matter, material and chain is written or nothing is. Every change
// is a ledger entry by the system actor (the demo load).
func (s *Store) Import(ctx context.Context, c Catalog) error {
	_, err := s.ImportAs(ctx, c, "system:catalog-import")
	return err
}

// Validate checks a catalog for the mistakes a hand-edited file makes:
// unknown or duplicate codes, bad levels and limits, empty names.
func (c Catalog) Validate() error {
	materials := map[string]bool{}
	for i, m := range c.Materials {
		if m.Code == "" || strings.TrimSpace(m.Name) == "" {
			return daiban.Invalid(fmt.Sprintf("materials[%d]", i), "材料缺少代码或名称")
		}
		if materials[m.Code] {
			return daiban.Invalid(fmt.Sprintf("materials[%d].code", i), "材料代码 %s 重复", m.Code)
		}
		materials[m.Code] = true
	}
	matters := map[string]bool{}
	for i, m := range c.Matters {
		f := fmt.Sprintf("matters[%d]", i)
		switch {
		case m.Code == "" || strings.TrimSpace(m.Name) == "" || strings.TrimSpace(m.Department) == "":
			return daiban.Invalid(f, "事项缺少代码、名称或部门")
		case matters[m.Code]:
			return daiban.Invalid(f+".code", "事项代码 %s 重复", m.Code)
		case !slices.Contains(Levels, Level(m.Level)):
			return daiban.Invalid(f+".level", "事项 %s 的审批层级 %q 无效", m.Code, m.Level)
		case !slices.Contains(Complexities, m.Complexity):
			return daiban.Invalid(f+".complexity", "事项 %s 的复杂程度 %q 无效", m.Code, m.Complexity)
		case m.LimitDays < 1 || m.LimitDays > 365:
			return daiban.Invalid(f+".limit_days", "事项 %s 的承诺时限应为 1 至 365 个工作日", m.Code)
		}
		matters[m.Code] = true
		seen := map[string]bool{}
		for j, x := range m.Materials {
			if !materials[x.Code] {
				return daiban.Invalid(fmt.Sprintf("%s.materials[%d].code", f, j), "事项 %s 引用了不存在的材料 %q", m.Code, x.Code)
			}
			if seen[x.Code] {
				return daiban.Invalid(fmt.Sprintf("%s.materials[%d].code", f, j), "事项 %s 的材料 %s 重复", m.Code, x.Code)
			}
			if x.Count < 1 || x.Count > 100 {
				return daiban.Invalid(fmt.Sprintf("%s.materials[%d].count", f, j), "事项 %s 的材料 %s 份数无效", m.Code, x.Code)
			}
			seen[x.Code] = true
			if err := x.validateGuide(fmt.Sprintf("%s.materials[%d]", f, j)); err != nil {
				return err
			}
		}
		if err := m.Guide.validate(f); err != nil {
			return err
		}
	}
	for i, ch := range c.Chains {
		f := fmt.Sprintf("chains[%d]", i)
		if ch.Code == "" || strings.TrimSpace(ch.Name) == "" || len(ch.Matters) < 2 {
			return daiban.Invalid(f, "一件事 %q 需要代码、名称和至少两个事项", ch.Code)
		}
		for _, mc := range ch.Matters {
			if !matters[mc] {
				return daiban.Invalid(f+".matters", "一件事 %s 引用了不存在的事项 %q", ch.Code, mc)
			}
		}
	}
	return nil
}

func fromRow(r dbsqlc.Matter) (Matter, error) {
	m := Matter{Code: r.Code, Name: r.Name, Department: r.Department, Level: r.Level, LimitDays: int(r.LimitDays), Complexity: r.Complexity, Where: r.WhereToGo,
		Guide: Guide{Conditions: r.Conditions, LegalBasis: r.LegalBasis, Fees: r.Fees, OfficeHours: r.OfficeHours, Phone: r.Phone}}
	if err := json.Unmarshal(r.Flow, &m.Flow); err != nil {
		return Matter{}, fmt.Errorf("catalog: flow of %s: %w", r.Code, err)
	}
	return m, nil
}

// materialsByMatter reads every matter's materials with their guide fields.
func (s *Store) materialsByMatter(ctx context.Context, db dbsqlc.DBTX) (map[string][]Material, error) {
	mats, err := s.q.MatterMaterialGuides(ctx, db)
	if err != nil {
		return nil, err
	}
	byMatter := map[string][]Material{}
	for _, m := range mats {
		byMatter[m.MatterCode] = append(byMatter[m.MatterCode], Material{Code: m.MaterialCode, Name: m.Name, Original: m.Original, Count: int(m.Count),
			Source: m.Source, BlankForm: m.BlankForm, Sample: m.Sample})
	}
	return byMatter, nil
}
