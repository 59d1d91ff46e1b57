// Package appointments is 网上预约: a township center's administrator
// opens half-day consultation slots (working days only, from the
// calendar); an applicant books one for a matter without an account,
// confirms it with a one-time code sent to the phone (or at the counter),
// and may cancel with the booking code; at the counter the agent sees the
// day's bookings and turns one into a case with its details filled in.
package appointments

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/cases/catalog"
	"github.com/daiban/daiban/ledger"
	"github.com/daiban/daiban/policies/pii"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// Half is a half day: the unit of a slot's capacity.
type Half string

// The halves of a day.
const (
	AM Half = "am"
	PM Half = "pm"
)

// Name is the half's Chinese label.
func (h Half) Name() string {
	if h == AM {
		return "上午"
	}
	return "下午"
}

// ends is when a half day's consultations end (Shanghai time): a slot can
// be booked until then.
var ends = map[Half]int{AM: 12, PM: 17}

// Statuses of a booking.
const (
	Booked    = "booked"
	Confirmed = "confirmed"
	Cancelled = "cancelled"
	Arrived   = "arrived"
)

// StatusNames are the statuses' Chinese labels.
var StatusNames = map[string]string{Booked: "待确认", Confirmed: "已确认", Cancelled: "已取消", Arrived: "已到窗口"}

// Horizon is how far ahead slots are offered and may be opened.
const Horizon = 62 * 24 * time.Hour

// Config wires a Service.
type Config struct {
	Pool     *pgxpool.Pool
	Keys     *pii.Keys
	Calendar func() *calendar.Calendar
	Catalog  *catalog.Store
	Cases    *cases.Service
	Sender   cases.CodeSender
	Now      func() time.Time
	Logger   *slog.Logger
}

// Service runs the bookings.
type Service struct {
	Config
	q *dbsqlc.Queries
}

// New returns a Service.
func New(c Config) *Service {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Sender == nil {
		c.Sender = cases.LogCodeSender{Logger: c.Logger}
	}
	return &Service{Config: c, q: dbsqlc.New()}
}

// Slot is a half day at a township center, as offered.
type Slot struct {
	ID        int64  `json:"-"`
	Key       string `json:"slot"` // YYYY-MM-DD/am|pm: what a booking names
	Region    string `json:"region"`
	Day       string `json:"day"`
	Half      Half   `json:"half"`
	Label     string `json:"label"`
	Capacity  int    `json:"capacity"`
	Booked    int    `json:"booked"`
	Remaining int    `json:"remaining"`
}

func slotOf(r dbsqlc.AppointmentSlot) Slot {
	day := r.Day.Format(time.DateOnly)
	h := Half(r.Half)
	return Slot{ID: r.ID, Key: day + "/" + string(h), Region: r.Region, Day: day, Half: h,
		Label:    fmt.Sprintf("%d月%d日 %s %s", r.Day.Month(), r.Day.Day(), strings.Replace(calendar.WeekdayName(r.Day), "星期", "周", 1), h.Name()),
		Capacity: int(r.Capacity), Booked: int(r.Booked), Remaining: int(r.Capacity - r.Booked)}
}

// ParseSlot reads a slot key "YYYY-MM-DD/am".
func ParseSlot(key string) (time.Time, Half, error) {
	d, h, ok := strings.Cut(strings.TrimSpace(key), "/")
	day, err := time.Parse(time.DateOnly, d)
	if !ok || err != nil || (Half(h) != AM && Half(h) != PM) {
		return time.Time{}, "", daiban.Invalid("slot", "预约时段格式应为 YYYY-MM-DD/am 或 YYYY-MM-DD/pm")
	}
	return day, Half(h), nil
}

// over reports whether a slot's half day has ended at now.
func over(day time.Time, h Half, now time.Time) bool {
	end := time.Date(day.Year(), day.Month(), day.Day(), ends[h], 0, 0, 0, calendar.Shanghai)
	return !now.Before(end)
}

// township checks that code is a township (镇/街道) center.
func (s *Service) township(ctx context.Context, db dbsqlc.DBTX, code string) (dbsqlc.Region, error) {
	r, err := s.q.RegionGet(ctx, db, code)
	if err != nil {
		return r, daiban.NoRows(err, "地区代码 %q 不存在", code)
	}
	if r.Level != "township" {
		return r, daiban.Invalid("region", "预约只能选择镇（街道）便民服务中心，%s 不是镇街", r.Name)
	}
	return r, nil
}

// Slots lists the open slots of a township from now on, working days
// only: a day the calendar made a holiday after the slot was opened is
// not offered. matter, when given, must be in the catalog.
func (s *Service) Slots(ctx context.Context, region, matter string) (_ []Slot, err error) {
	defer daiban.Wrap(&err, "appointments: slots of %s", region)
	if _, err := s.township(ctx, s.Pool, region); err != nil {
		if daiban.ErrorCode(err) == daiban.ENOTFOUND {
			return nil, daiban.Invalid("region", "地区代码 %q 不存在", region)
		}
		return nil, err
	}
	if matter != "" {
		if _, err := s.Catalog.Guide(ctx, matter); err != nil {
			return nil, daiban.Invalid("matter", "事项 %q 不存在", matter)
		}
	}
	now := s.Now()
	today := day(now)
	rows, err := s.q.SlotsBetween(ctx, s.Pool, region, today, today.Add(Horizon))
	if err != nil {
		return nil, err
	}
	cal := s.Calendar()
	out := []Slot{}
	for _, r := range rows {
		if !cal.IsWorkday(r.Day) || over(r.Day, Half(r.Half), now) || r.Capacity == 0 {
			continue
		}
		out = append(out, slotOf(r))
	}
	return out, nil
}

// day is the Shanghai date of t as a UTC midnight (how dates are stored).
func day(t time.Time) time.Time {
	d := calendar.Date(t)
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
}

// Booking is what an applicant asks for.
type Booking struct {
	Region string `json:"region"`
	Matter string `json:"matter"`
	Slot   string `json:"slot"`
	Name   string `json:"name"`
	Phone  string `json:"phone"`
}

// BookResult is the booking code and the slot.
type BookResult struct {
	Code   string `json:"code"`
	Slot   Slot   `json:"slot"`
	Status string `json:"status"`
	// CodeSent says a one-time code went to the phone.
	CodeSent bool `json:"code_sent"`
}

func (b *Booking) check() error {
	b.Name, b.Phone, b.Matter = strings.TrimSpace(b.Name), strings.TrimSpace(b.Phone), strings.TrimSpace(b.Matter)
	switch {
	case b.Name == "" || utf8.RuneCountInString(b.Name) > 50 || !utf8.ValidString(b.Name) || strings.ContainsAny(b.Name, "<>\r\n\t"):
		return daiban.Invalid("name", "请填写姓名或企业名称（不超过 50 字）")
	case !cases.ValidPhone(b.Phone) || !strings.HasPrefix(b.Phone, "1"):
		return daiban.Invalid("phone", "请填写 11 位手机号码，用于接收确认码")
	case b.Matter == "":
		return daiban.Invalid("matter", "请选择要办理的事项")
	}
	return nil
}

// Book takes one place of a slot and sends a one-time code to the phone.
// The place is taken by one conditional UPDATE: under any number of
// concurrent requests no slot gets more bookings than its capacity. With
// idem (an Idempotency-Key), the same request again returns the first
// booking and books nothing.
func (s *Service) Book(ctx context.Context, b Booking, idem *cases.Idem) (_ BookResult, err error) {
	defer daiban.Wrap(&err, "appointments: book")
	if err := b.check(); err != nil {
		return BookResult{}, err
	}
	d, h, err := ParseSlot(b.Slot)
	if err != nil {
		return BookResult{}, err
	}
	g, err := s.Catalog.Guide(ctx, b.Matter)
	if err != nil {
		return BookResult{}, daiban.Invalid("matter", "事项 %q 不存在", b.Matter)
	}
	if !s.Calendar().Covers(d) {
		return BookResult{}, daiban.Invalid("slot", "%d 年的节假日安排尚未公布导入，%s 暂不能预约，请选择其他日期", d.Year(), d.Format(time.DateOnly))
	}
	if !s.Calendar().IsWorkday(d) || over(d, h, s.Now()) || d.After(day(s.Now()).Add(Horizon)) {
		return BookResult{}, daiban.Invalid("slot", "%s %s 不可预约（已过、非工作日或太远）", d.Format(time.DateOnly), h.Name())
	}
	otp := cases.NewOneTimeCode()
	var res BookResult
	replayed := true
	st, err := s.Cases.InTx(ctx, idem, http.StatusCreated, func(tx pgx.Tx) (any, error) {
		replayed = false
		var err error
		res, err = s.bookTx(ctx, tx, b, g, d, h, otp)
		return res, err
	})
	if err != nil {
		return BookResult{}, err
	}
	if replayed {
		err := json.Unmarshal(st.Body, &res)
		return res, err
	}
	text := fmt.Sprintf("【%s】您预约 %s 办理“%s”，预约码 %s，确认码 %s。", "政务帮办", res.Slot.Label, g.Name, res.Code, otp)
	if err := s.Sender.SendCode(ctx, b.Phone, "appointment", text); err != nil {
		s.Logger.WarnContext(ctx, "sending the booking code failed", "code", res.Code, "err", err.Error())
	} else {
		res.CodeSent = true
	}
	return res, nil
}

func (s *Service) bookTx(ctx context.Context, tx pgx.Tx, b Booking, g catalog.GuideView, d time.Time, h Half, otp string) (BookResult, error) {
	if _, err := s.township(ctx, tx, b.Region); err != nil {
		return BookResult{}, err
	}
	rows, err := s.q.SlotsBetween(ctx, tx, b.Region, d, d)
	if err != nil {
		return BookResult{}, err
	}
	var slotID int64
	for _, r := range rows {
		if Half(r.Half) == h {
			slotID = r.ID
		}
	}
	if slotID == 0 {
		return BookResult{}, daiban.Invalid("slot", "该中心 %s %s 未开放预约", d.Format(time.DateOnly), h.Name())
	}
	idx, err := s.phoneAllowed(ctx, tx, b.Phone)
	if err != nil {
		return BookResult{}, err
	}
	taken, err := s.q.SlotTake(ctx, tx, slotID)
	if errors.Is(err, pgx.ErrNoRows) {
		return BookResult{}, daiban.Invalid("slot", "%s %s 已约满，请选择其他时段", d.Format(time.DateOnly), h.Name())
	} else if err != nil {
		return BookResult{}, err
	}
	code := newCode()
	var matter, chain *string
	if g.Kind == "chain" {
		chain = &g.Code
	} else {
		matter = &g.Code
	}
	now := s.Now()
	a, err := s.q.AppointmentInsert(ctx, tx, dbsqlc.AppointmentInsertParams{Code: code, SlotID: slotID, Region: b.Region, Day: d, Half: string(h),
		MatterCode: matter, ChainCode: chain, Name: b.Name, PhoneEnc: s.Keys.SealString(pii.AppointmentPhone, code, b.Phone),
		PhoneLast4: b.Phone[len(b.Phone)-4:], PhoneIdx: idx, OtpHash: cases.HashCode("appointment", code, otp), CreatedAt: now})
	if err != nil {
		return BookResult{}, err
	}
	err = ledger.Record(ctx, tx, ledger.Meta{Actor: "applicant", Region: b.Region, Type: "appointment.booked"},
		map[string]any{"appointment_id": a.ID, "day": a.Day.Format(time.DateOnly), "half": h, "matter": g.Code})
	return BookResult{Code: code, Slot: slotOf(taken), Status: Booked}, err
}

const codeAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

// newCode is a booking code: 10 characters, about 50 bits, unguessable.
func newCode() string {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = codeAlphabet[b[i]%32]
	}
	return string(b)
}

// A phone may hold MaxOpenPerPhone bookings not yet come to, and book
// (receive a text) MaxTextsPerPhone times a day: a stranger's phone cannot
// be flooded with codes, nor a township's places taken with one number.
const (
	MaxOpenPerPhone  = 2
	MaxTextsPerPhone = 5
)

// phoneAllowed checks the phone's use under a lock of its own (so two
// bookings at once cannot both pass) and returns its blind index.
func (s *Service) phoneAllowed(ctx context.Context, tx pgx.Tx, phone string) ([]byte, error) {
	idx := s.Keys.Index(pii.AppointmentPhone, phone)
	if err := s.q.AppointmentPhoneLock(ctx, tx, idx); err != nil {
		return nil, err
	}
	now := s.Now()
	use, err := s.q.AppointmentPhoneUse(ctx, tx, day(now), now.Add(-24*time.Hour), s.Keys.Indexes(pii.AppointmentPhone, phone))
	if err != nil {
		return nil, err
	}
	switch {
	case use.Open >= MaxOpenPerPhone:
		return nil, daiban.Invalid("phone", "该手机号码已有 %d 个未到期的预约，请先按时办理或用预约码取消后再预约", use.Open)
	case use.Recent >= MaxTextsPerPhone:
		return nil, daiban.Invalid("phone", "该手机号码 24 小时内预约次数过多，请明天再试，或直接到窗口办理")
	}
	return idx, nil
}
