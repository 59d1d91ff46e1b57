package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cases/catalog"
	"github.com/daiban/daiban/policies"
	"github.com/daiban/daiban/policies/httpapi"
	"github.com/daiban/daiban/policies/regions"
)

// matterOption is a matter or a chain (一件事) to choose at intake.
type matterOption struct {
	Code       string
	Name       string
	Department string
	Level      string
	Complexity string
	LimitDays  int
	Members    []string // a chain's matters
	Materials  int
	// Mats are the materials to bring, as the errand form lists them.
	Mats   []catalog.Material
	search string // what the search matches, lower case
}

type regionOption struct{ Code, Name string }

type regionGroup struct {
	Name    string
	Options []regionOption
}

type intakeData struct {
	Q       string
	Matters []matterOption
	Chains  []matterOption
	Found   int // matters and chains shown
	Regions []regionGroup
	// OneRegion is set when the user can open cases in one region only
	// (a village agent's village): the form does not ask.
	OneRegion *regionOption
	// Chosen is the matter or chain chosen in the form, if any.
	Chosen *matterOption
	Form   *form
	// Duplicates are the applicant's open cases for the same matter that
	// the user can see; Elsewhere counts those outside the user's region
	// (shown only as a number).
	Duplicates []cases.Duplicate
	Elsewhere  int
}

func (p *Pages) intakePage(c echo.Context) error {
	f := newForm(c, "intake")
	f.Values.Set("channel", string(cases.Counter))
	f.Values.Set("kind", "person")
	f.Values.Set("region", httpapi.CurrentPrincipal(c).Region)
	f.Values.Set("matter", c.QueryParam("matter"))
	if code := c.QueryParam("appointment"); code != "" {
		if err := p.prefillFromBooking(c, f, code); err != nil {
			return err
		}
	}
	return p.renderIntake(c, http.StatusOK, "intake", f)
}

func (p *Pages) villageNewPage(c echo.Context) error {
	f := newForm(c, "intake")
	f.Values.Set("kind", "person")
	offlinePage(c)
	return p.renderIntake(c, http.StatusOK, "village_new", f)
}

func (p *Pages) renderIntake(c echo.Context, status int, page string, f *form) error {
	ctx := c.Request().Context()
	pr := httpapi.CurrentPrincipal(c)
	// The search (GET ?q=) is carried through a failed post, so the list
	// the agent chose from stays as it was.
	d := intakeData{Q: strings.TrimSpace(c.FormValue("q")), Form: f}
	matters, chains, err := p.matterOptions(ctx)
	if err != nil {
		return err
	}
	d.Matters, d.Chains = filterOptions(matters, d.Q), filterOptions(chains, d.Q)
	d.Found = len(d.Matters) + len(d.Chains)
	for _, list := range [][]matterOption{chains, matters} {
		for _, o := range list {
			if o.Code == f.Value("matter") {
				d.Chosen = &o
			}
		}
	}
	if d.Regions, err = p.regionGroups(ctx, pr.Region); err != nil {
		return err
	}
	if n := len(d.Regions); n == 1 && len(d.Regions[0].Options) == 1 {
		d.OneRegion = &d.Regions[0].Options[0]
	}
	if f.Err(cases.DuplicateReasonField) != "" || f.Value(cases.DuplicateReasonField) != "" {
		if err := p.intakeDuplicates(c, &d); err != nil {
			return err
		}
	}
	title := "接待登记"
	if page == "village_new" {
		title = "新建代办"
	}
	return p.Render(c, status, page, view{Title: title, Data: d})
}

// matterOptions lists the catalog's matters and chains.
func (p *Pages) matterOptions(ctx context.Context) (matters, chains []matterOption, err error) {
	all, err := p.Catalog.List(ctx)
	if err != nil {
		return nil, nil, err
	}
	chs, err := p.Catalog.Chains(ctx)
	if err != nil {
		return nil, nil, err
	}
	byCode := map[string]catalog.Matter{}
	for _, m := range all {
		byCode[m.Code] = m
		matters = append(matters, matterOption{Code: m.Code, Name: m.Name, Department: m.Department, Level: m.Level, Complexity: m.Complexity,
			LimitDays: m.LimitDays, Materials: len(m.Materials), Mats: m.Materials, search: strings.ToLower(m.Code + " " + m.Name + " " + m.Department)})
	}
	rank := map[string]int{"simple": 0, "general": 1, "complex": 2}
	for _, ch := range chs {
		o := matterOption{Code: ch.Code, Name: ch.Name, Complexity: "simple"}
		o.search = strings.ToLower(ch.Code + " " + ch.Name)
		for _, mc := range ch.Matters {
			m := byCode[mc]
			o.Members = append(o.Members, m.Name)
			o.search += " " + strings.ToLower(m.Name)
			o.Mats = appendNew(o.Mats, m.Materials)
			// A chain promises what its longest matter does, and is as
			// hard as its hardest.
			o.LimitDays = max(o.LimitDays, m.LimitDays)
			if rank[m.Complexity] > rank[o.Complexity] {
				o.Complexity = m.Complexity
			}
		}
		chains = append(chains, o)
	}
	return matters, chains, nil
}

// appendNew adds the materials of one matter of a chain that an earlier
// one did not already ask for.
func appendNew(have, more []catalog.Material) []catalog.Material {
	for _, m := range more {
		dup := false
		for _, h := range have {
			dup = dup || h.Code == m.Code
		}
		if !dup {
			have = append(have, m)
		}
	}
	return have
}

// filterOptions keeps the options whose code, name, department or (for a
// chain) matters contain q.
func filterOptions(opts []matterOption, q string) []matterOption {
	q = strings.ToLower(q)
	if q == "" {
		return opts
	}
	var out []matterOption
	for _, o := range opts {
		if strings.Contains(o.search, q) {
			out = append(out, o)
		}
	}
	return out
}

// regionGroups lists the regions inside home, by township.
func (p *Pages) regionGroups(ctx context.Context, home string) ([]regionGroup, error) {
	rs, err := p.Regions.List(ctx)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	var groups []regionGroup
	for _, r := range rs {
		names[r.Code] = r.Name
		if !policies.RegionContains(home, r.Code) {
			continue
		}
		switch r.Level {
		case regions.County:
			groups = append(groups, regionGroup{Name: r.Name + "（县本级）", Options: []regionOption{{r.Code, r.Name}}})
		case regions.Township:
			groups = append(groups, regionGroup{Name: r.Name, Options: []regionOption{{r.Code, r.Name + "（镇街本级）"}}})
		case regions.Village:
			if n := len(groups); n > 0 && policies.RegionContains(groups[n-1].Options[0].Code, r.Code) && len(groups[n-1].Options[0].Code) == 9 {
				groups[n-1].Options = append(groups[n-1].Options, regionOption{r.Code, r.Name})
			} else {
				groups = append(groups, regionGroup{Name: names[r.Parent], Options: []regionOption{{r.Code, r.Name}}})
			}
		}
	}
	return groups, nil
}

func (p *Pages) intake(c echo.Context) error { return p.create(c, "intake") }

func (p *Pages) villageNew(c echo.Context) error { return p.create(c, "village_new") }

// create opens a case from the intake form (counter) or the village
// agent's errand form. The form's idempotency key makes a second sending
// of the same form find the first case instead of opening another.
func (p *Pages) create(c echo.Context, page string) error {
	ctx := c.Request().Context()
	pr := httpapi.CurrentPrincipal(c)
	f := postedForm(c, "intake")
	in := cases.NewCase{
		Region: f.Value("region"), Channel: cases.Channel(f.Value("channel")), Matter: f.Value("matter"), Summary: f.Value("summary"),
		Applicant:       cases.Applicant{Kind: f.Value("kind"), Name: f.Value("name"), IDNumber: f.Value("id_number"), Phone: f.Value("phone")},
		DuplicateReason: f.Value(cases.DuplicateReasonField),
	}
	if f.Value("no_sms") == "1" { // the applicant wants no texts about the case
		off := false
		in.Notify = &off
	}
	if page == "village_new" {
		in.Channel = cases.Village
		if pr.Role == policies.RoleVillageAgent {
			in.Region = pr.Region
		}
	}
	var created struct {
		ID     int64  `json:"id"`
		Number string `json:"number"`
	}
	replayed := true
	if errs := checkIntake(in); len(errs) > 0 {
		for _, e := range errs {
			if _, ferr := f.fail(e, intakeField); ferr != nil {
				return ferr
			}
		}
		return p.renderIntake(c, http.StatusUnprocessableEntity, page, f)
	}
	err := p.Cases.CheckRegion(ctx, in.Region)
	if err == nil && httpapi.Authorize(c, in.Region, "case", "create", policies.RelAny) != nil {
		err = daiban.Errorf(daiban.EFORBIDDEN, "不能在该地区受理：不在您的管辖范围内")
	}
	if err == nil {
		var key *cases.Idem
		if key, err = idem(c); err == nil {
			var st cases.Stored
			st, err = p.Cases.InTx(ctx, key, http.StatusCreated, func(tx pgx.Tx) (any, error) {
				replayed = false
				cs, err := p.Cases.Create(ctx, tx, actor(c), in)
				if code := f.Value("appointment"); err == nil && code != "" && p.Appointments != nil {
					err = p.Appointments.ArrivedTx(ctx, tx, actor(c).Username, code, cs.ID) // the booking came in
				}
				return map[string]any{"id": cs.ID, "number": cs.Number}, err
			})
			if err == nil {
				err = json.Unmarshal(st.Body, &created)
			}
		}
	}
	if err != nil {
		status, ferr := f.fail(err, intakeField)
		if ferr != nil {
			return ferr
		}
		return p.renderIntake(c, status, page, f)
	}
	msg := fmt.Sprintf("已登记，办件编号 %s。", created.Number)
	if replayed {
		msg = fmt.Sprintf("该表单已提交过，没有重复登记（办件编号 %s）。", created.Number)
	}
	setFlash(c, flash{Message: msg, Link: fmt.Sprintf("/cases/%d/receipt", created.ID), LinkText: "打印受理回执"})
	return seeOther(c, fmt.Sprintf("/cases/%d", created.ID))
}

// intakeDuplicates finds the applicant's open cases for the chosen matter
// that stopped the registration, for links on the form; those outside the
// user's region are only counted.
func (p *Pages) intakeDuplicates(c echo.Context, d *intakeData) error {
	pr := httpapi.CurrentPrincipal(c)
	dups, err := p.Cases.OpenDuplicates(c.Request().Context(), d.Form.Value("id_number"), d.Form.Value("matter"))
	if err != nil {
		return err
	}
	for _, dup := range dups {
		if policies.RegionContains(pr.Region, dup.Region) {
			d.Duplicates = append(d.Duplicates, dup)
		} else {
			d.Elsewhere++
		}
	}
	return nil
}

// intakeField maps the service's field names to the form's.
func intakeField(f string) string {
	switch f {
	case "applicant.kind":
		return "kind"
	case "applicant.name":
		return "name"
	case "applicant.id_number":
		return "id_number"
	case "applicant.phone":
		return "phone"
	case "region", "channel", "matter", "summary", cases.DuplicateReasonField:
		return f
	}
	return ""
}

// checkIntake checks what the form must have before the service is asked,
// and reports every problem at once (the summary at the top of the form
// lists them all), with messages that say exactly what to fix; the ID
// number's check character is tested with the same functions the service
// uses.
func checkIntake(in cases.NewCase) []error {
	var errs []error
	if in.Matter == "" {
		errs = append(errs, daiban.Invalid("matter", "请选择办理事项（可先搜索）"))
	}
	if in.Region == "" {
		errs = append(errs, daiban.Invalid("region", "请选择申请人所在地区"))
	}
	if strings.TrimSpace(in.Applicant.Name) == "" {
		errs = append(errs, daiban.Invalid("applicant.name", "请填写申请人姓名（企业填写企业名称）"))
	}
	if err := checkIDNumber(in.Applicant); err != nil {
		errs = append(errs, err)
	}
	if ph := strings.TrimSpace(in.Applicant.Phone); ph == "" {
		errs = append(errs, daiban.Invalid("applicant.phone", "请填写联系电话"))
	} else if !cases.ValidPhone(ph) {
		errs = append(errs, daiban.Invalid("applicant.phone", "联系电话有误：应为 11 位手机号或带区号的固定电话"))
	}
	return errs
}

// checkIDNumber checks the applicant's kind and document number.
func checkIDNumber(ap cases.Applicant) error {
	id := strings.ToUpper(strings.TrimSpace(ap.IDNumber))
	n := utf8.RuneCountInString(id)
	switch ap.Kind {
	case "person":
		if n != 18 {
			return daiban.Invalid("applicant.id_number", "身份证号码应为 18 位，现在是 %d 位", n)
		}
		if !cases.ValidIDNumber(id) {
			return daiban.Invalid("applicant.id_number", "身份证号码有误：校验位不符或出生日期无效，请逐位核对")
		}
	case "enterprise":
		if n != 18 {
			return daiban.Invalid("applicant.id_number", "统一社会信用代码应为 18 位，现在是 %d 位", n)
		}
		if !cases.ValidCreditCode(id) {
			return daiban.Invalid("applicant.id_number", "统一社会信用代码有误：校验位不符，请逐位核对")
		}
	default:
		return daiban.Invalid("applicant.kind", "请选择申请人类型：个人或企业")
	}
	return nil
}
