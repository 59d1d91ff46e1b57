// Package demo loads the demo county, 沂源县: its region tree, a catalog of
// real matters, demo applicants for tests, and a demo user for every role.
package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases/catalog"
	"github.com/daiban/daiban/ledger"
	"github.com/daiban/daiban/policies"
	"github.com/daiban/daiban/policies/regions"
	"github.com/daiban/daiban/policies/users"
)

//go:embed data/regions.csv data/matters.json data/people.json
var data embed.FS

// Person is a demo applicant.
type Person struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	IDNumber string `json:"id_number"`
	Phone    string `json:"phone"`
}

// Account is a demo user and, when it was created by this load, its
// password (shown once).
type Account struct {
	Username, Name string
	Role           policies.Role
	Region         string
	Password       string
}

// Accounts are the demo users, one or more for every role.
var accounts = []Account{
	{Username: "admin", Name: "系统管理员", Role: policies.RoleAdmin, Region: "370323"},
	{Username: "xian.ducha", Name: "县督查室王淼", Role: policies.RoleSupervisor, Region: "370323"},
	{Username: "xian.daiban", Name: "县代办员李堃", Role: policies.RoleCountyAgent, Region: "370323"},
	{Username: "lishan.daiban", Name: "历山街道代办员张喆", Role: policies.RoleTownshipAgent, Region: "370323001"},
	{Username: "lishan.ducha", Name: "历山街道督查员赵犇", Role: policies.RoleSupervisor, Region: "370323001"},
	{Username: "lucun.daiban", Name: "鲁村镇代办员刘洋", Role: policies.RoleTownshipAgent, Region: "370323101"},
	{Username: "lucun.ducha", Name: "鲁村镇督查员孙丽", Role: policies.RoleSupervisor, Region: "370323101"},
	{Username: "lishan.cun1", Name: "村代办员陈静", Role: policies.RoleVillageAgent, Region: "370323001001"},
	{Username: "lucun.cun1", Name: "村代办员周强", Role: policies.RoleVillageAgent, Region: "370323101201"},
}

// Regions returns the demo region tree, parents first.
func Regions() ([]regions.Region, error) {
	b, err := data.ReadFile("data/regions.csv")
	if err != nil {
		return nil, err
	}
	return ParseRegions(b)
}

// ParseRegions reads a code,name,level,parent CSV.
func ParseRegions(b []byte) ([]regions.Region, error) {
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		return nil, daiban.Invalid("regions", "地区文件格式错误：%v", err)
	}
	if len(rows) == 0 || len(rows[0]) != 4 || rows[0][0] != "code" {
		return nil, daiban.Invalid("regions", "地区文件应以 code,name,level,parent 为表头")
	}
	out := make([]regions.Region, 0, len(rows)-1)
	for _, r := range rows[1:] {
		out = append(out, regions.Region{Code: r[0], Name: r[1], Level: r[2], Parent: r[3]})
	}
	return out, nil
}

// Catalog returns the demo matter catalog.
func Catalog() (catalog.Catalog, error) {
	var c catalog.Catalog
	b, err := data.ReadFile("data/matters.json")
	if err != nil {
		return c, err
	}
	err = json.Unmarshal(b, &c)
	return c, err
}

// People returns the demo applicants.
func People() ([]Person, error) {
	var p []Person
	b, err := data.ReadFile("data/people.json")
	if err != nil {
		return nil, err
	}
	err = json.Unmarshal(b, &p)
	return p, err
}

// Actor is who the ledger names for the demo users' creation.
var Actor = users.Actor{Username: "system:demo"}

// Load writes the demo county. It can run any number of times: regions and
// matters are upserted, and users that already exist are left alone. The
// returned accounts are those created now, with their passwords.
func Load(ctx context.Context, pool *pgxpool.Pool) ([]Account, error) {
	rs, err := Regions()
	if err != nil {
		return nil, err
	}
	if err := regions.NewStore(pool).Upsert(ctx, rs); err != nil {
		return nil, fmt.Errorf("demo regions: %w", err)
	}
	c, err := Catalog()
	if err != nil {
		return nil, err
	}
	if err := catalog.NewStore(pool).Import(ctx, c); err != nil {
		return nil, fmt.Errorf("demo catalog: %w", err)
	}
	svc := users.NewService(pool, ledger.RecordAccount)
	var created []Account
	for _, a := range accounts {
		if _, err := svc.Get(ctx, a.Username); err == nil {
			continue
		} else if daiban.ErrorCode(err) != daiban.ENOTFOUND {
			return nil, err
		}
		a.Password = NewPassword()
		if _, err := svc.Create(ctx, Actor, users.NewUser{Username: a.Username, Name: a.Name, Role: a.Role, Region: a.Region, Password: a.Password}); err != nil {
			return nil, fmt.Errorf("demo user %s: %w", a.Username, err)
		}
		created = append(created, a)
	}
	return created, nil
}

// NewPassword returns a random 12-character password without look-alike
// characters, easy to read off a screen.
func NewPassword() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 12)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			panic(err)
		}
		b[i] = alphabet[n.Int64()]
	}
	return string(b)
}
