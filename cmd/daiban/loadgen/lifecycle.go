package loadgen

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
)

type caseView struct {
	ID        int64 `json:"id"`
	Version   int   `json:"version"`
	Materials []struct {
		Code             string `json:"code"`
		RequiredOriginal bool   `json:"required_original"`
	} `json:"materials"`
	HandoverItems []struct {
		ID int64 `json:"id"`
	} `json:"handover_items"`
	State string `json:"state"`
}

type signingLink struct {
	SigningURL string `json:"signing_url"`
}

type signStatus struct {
	CaseState string `json:"case_state"`
}

func ifMatch(v int) map[string]string {
	return map[string]string{"If-Match": fmt.Sprintf("%q", fmt.Sprint(v))}
}

// benchCase is one case on its way through the lifecycle: the agent's
// last view of it and what the applicant types to sign.
type benchCase struct {
	a     *agent
	c     caseView
	path  string
	last4 string
}

// lifecycle takes one case from creation to evaluation.
func (a *agent) lifecycle(ctx context.Context) error {
	a.n++
	p := a.cfg.Applicants[(a.worker*7919+a.n)%len(a.cfg.Applicants)]
	bc := &benchCase{a: a, last4: p.IDNumber[len(p.IDNumber)-4:]}
	if err := bc.create(ctx, p); err != nil {
		return err
	}
	a.rec.started.Add(1)
	for _, step := range []func(context.Context) error{bc.review, bc.delegate, bc.progress, bc.handover, bc.evaluate} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	a.rec.done.Add(1)
	return nil
}

// create opens the case at the counter for applicant p.
func (bc *benchCase) create(ctx context.Context, p Applicant) error {
	a := bc.a
	key := map[string]string{"Idempotency-Key": fmt.Sprintf("bench-%d-%d-%d", a.runID, a.worker, a.n)}
	sent := time.Now()
	if err := a.do(ctx, ActCreate, http.MethodPost, "/api/v1/cases", map[string]any{
		"region": a.cred.Region, "channel": "counter", "matter": a.cfg.Matter,
		"applicant":        map[string]string{"kind": p.Kind, "name": p.Name, "id_number": p.IDNumber, "phone": p.Phone},
		"summary":          "压测案件：个体工商户设立登记代办",
		"duplicate_reason": "压测：同一申请人多件",
	}, key, http.StatusCreated, &bc.c); err != nil {
		return err
	}
	bc.acknowledged(ActCreate, sent)
	bc.path = fmt.Sprintf("/api/v1/cases/%d", bc.c.ID)
	return nil
}

// act posts one state-machine action at the case's current version.
func (bc *benchCase) act(ctx context.Context, action string, body any) error {
	sent := time.Now()
	if err := bc.a.do(ctx, action, http.MethodPost, bc.path+"/actions/"+action, body, ifMatch(bc.c.Version), http.StatusOK, &bc.c); err != nil {
		return err
	}
	bc.acknowledged(action, sent)
	return nil
}

// get reads the case back, as the agent's screen does.
func (bc *benchCase) get(ctx context.Context) error {
	return bc.a.do(ctx, ActGet, http.MethodGet, bc.path, nil, nil, http.StatusOK, &bc.c)
}

// review reads the case and accepts every material it asks for.
func (bc *benchCase) review(ctx context.Context) error {
	if err := bc.get(ctx); err != nil {
		return err
	}
	var mats []map[string]any
	for _, m := range bc.c.Materials {
		mats = append(mats, map[string]any{"code": m.Code, "received": true, "original": m.RequiredOriginal, "pages": 1})
	}
	return bc.act(ctx, ActReview, map[string]any{"result": "accept", "materials": mats})
}

// delegate issues the agreement, which the agent and then the applicant
// sign.
func (bc *benchCase) delegate(ctx context.Context) error {
	a := bc.a
	var link signingLink
	if err := a.do(ctx, ActAgreement, http.MethodPost, bc.path+"/agreement", nil, nil, http.StatusCreated, &link); err != nil {
		return err
	}
	if err := a.do(ctx, ActAgentSign, http.MethodPost, bc.path+"/agreement/signatures", map[string]string{"image_png": a.sig}, nil, http.StatusOK, nil); err != nil {
		return err
	}
	return bc.applicantSigns(ctx, ActApplicantSign, link, "签署协议后", "delegated")
}

// progress reports two steps and the results; the signature moved the
// case on, so its version is read back first.
func (bc *benchCase) progress(ctx context.Context) error {
	if err := bc.get(ctx); err != nil {
		return err
	}
	if err := bc.act(ctx, ActProgress, map[string]any{"note": "材料已送达审批局，窗口受理中", "step": "受理"}); err != nil {
		return err
	}
	if err := bc.act(ctx, ActProgress, map[string]any{"note": "审批局已审核通过，等待制证"}); err != nil {
		return err
	}
	return bc.act(ctx, ActResults, map[string]any{"items": []map[string]any{{"kind": "licence", "name": "营业执照", "number": fmt.Sprintf("92370323MA%08d", bc.a.n%100000000)}}})
}

// handover verifies every item handed over; the applicant signs the
// receipt.
func (bc *benchCase) handover(ctx context.Context) error {
	items := make([]map[string]any, 0, len(bc.c.HandoverItems))
	for _, it := range bc.c.HandoverItems {
		items = append(items, map[string]any{"id": it.ID, "verified": true})
	}
	var link signingLink
	if err := bc.a.do(ctx, ActHandover, http.MethodPost, bc.path+"/handover", map[string]any{"items": items}, nil, http.StatusCreated, &link); err != nil {
		return err
	}
	return bc.applicantSigns(ctx, ActReceiptSign, link, "签收后", "closed")
}

// evaluate reads the closed case back and rates it.
func (bc *benchCase) evaluate(ctx context.Context) error {
	if err := bc.get(ctx); err != nil {
		return err
	}
	return bc.act(ctx, ActEvaluate, map[string]any{"rating": 5, "comment": "办事很方便"})
}

// applicantSigns signs through link as the applicant and checks that the
// case is then in state want; after names the signing in the error.
func (bc *benchCase) applicantSigns(ctx context.Context, action string, link signingLink, after, want string) error {
	a := bc.a
	var st signStatus
	if err := a.do(ctx, action, http.MethodPost, "/api/v1/sign/"+strings.TrimPrefix(link.SigningURL, "/sign/"),
		map[string]string{"image_png": a.sig, "id_last4": bc.last4}, nil, http.StatusOK, &st); err != nil {
		return err
	}
	if st.CaseState != want {
		return a.fail(action, "%s案件状态为 %q，应为 %s", after, st.CaseState, want)
	}
	return nil
}

// fail records a wrong answer that came with a good status.
func (a *agent) fail(action, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	a.rec.mu.Lock()
	if len(a.rec.errs) < 10 {
		a.rec.errs = append(a.rec.errs, action+": "+err.Error())
	}
	a.rec.mu.Unlock()
	return err
}
