// Package regions holds the county's region tree (county > township >
// village, nested by code prefix). The rule that decides whether one region
// lies inside another is policies.RegionContains: the authorizer needs it
// too, and policies cannot import this package.
package regions

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/policies"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// Levels of the tree, by code length.
const (
	County   = "county"
	Township = "township"
	Village  = "village"
)

// Region is one node of the tree.
type Region struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	Level  string `json:"level"`
	Parent string `json:"parent,omitempty"`
}

// TownshipOf returns the township code a region belongs to ("" for the county).
func TownshipOf(code string) string {
	if len(code) >= 9 {
		return code[:9]
	}
	return ""
}

// LevelOf returns the level implied by a code's length, or "".
func LevelOf(code string) string {
	switch len(code) {
	case 6:
		return County
	case 9:
		return Township
	case 12:
		return Village
	}
	return ""
}

// Store reads and writes regions.
type Store struct {
	pool *pgxpool.Pool
	q    *dbsqlc.Queries
}

// NewStore returns a Store on pool.
func NewStore(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, q: dbsqlc.New()}
}

// List returns every region ordered by code (tree order).
func (s *Store) List(ctx context.Context) ([]Region, error) {
	rows, err := s.q.RegionList(ctx, s.pool)
	if err != nil {
		return nil, err
	}
	out := make([]Region, 0, len(rows))
	for _, r := range rows {
		out = append(out, fromRow(r))
	}
	return out, nil
}

// Get returns one region, or a not_found error naming the code.
func (s *Store) Get(ctx context.Context, code string) (_ Region, err error) {
	defer daiban.Wrap(&err, "regions: get region %s", code)
	r, err := s.q.RegionGet(ctx, s.pool, code)
	if err != nil {
		return Region{}, daiban.NoRows(err, "地区代码 %q 不存在", code)
	}
	return fromRow(r), nil
}

// Upsert writes regions in one transaction; parents must come before children.
func (s *Store) Upsert(ctx context.Context, rs []Region) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, r := range rs {
			if err := Validate(r); err != nil {
				return err
			}
			var parent *string
			if r.Parent != "" {
				parent = &r.Parent
			}
			if err := s.q.RegionUpsert(ctx, tx, dbsqlc.RegionUpsertParams{Code: r.Code, Name: r.Name, Level: r.Level, Parent: parent}); err != nil {
				return err
			}
		}
		return nil
	})
}

// Validate checks a region's code, level and parent agree.
func Validate(r Region) error {
	lv := LevelOf(r.Code)
	switch {
	case lv == "" || strings.Trim(r.Code, "0123456789") != "":
		return daiban.Invalid("code", "地区代码 %q 应为 6、9 或 12 位数字", r.Code)
	case strings.TrimSpace(r.Name) == "":
		return daiban.Invalid("name", "地区 %s 缺少名称", r.Code)
	case r.Level != lv:
		return daiban.Invalid("level", "地区 %s 的层级应为 %s", r.Code, lv)
	case lv == County && r.Parent != "":
		return daiban.Invalid("parent", "县级地区 %s 不应有上级", r.Code)
	case lv != County && (r.Parent == "" || !policies.RegionContains(r.Parent, r.Code) || len(r.Parent) != len(r.Code)-3):
		return daiban.Invalid("parent", "地区 %s 的上级 %q 不正确", r.Code, r.Parent)
	}
	return nil
}

func fromRow(r dbsqlc.Region) Region {
	out := Region{Code: r.Code, Name: r.Name, Level: r.Level}
	if r.Parent != nil {
		out.Parent = *r.Parent
	}
	return out
}
