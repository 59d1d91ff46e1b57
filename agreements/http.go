package agreements

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/policies"
	"github.com/daiban/daiban/policies/httpapi"
)

// Handler serves the document endpoints.
type Handler struct {
	svc       *Service
	caseScope httpapi.ScopeFunc
}

// NewHandler returns the HTTP handler; caseScope locates a case by :id.
func NewHandler(svc *Service, caseScope httpapi.ScopeFunc) *Handler {
	return &Handler{svc: svc, caseScope: caseScope}
}

// Routes returns the document endpoints of the contract.
func (h *Handler) Routes() []httpapi.Route {
	return []httpapi.Route{
		{Method: http.MethodPost, Path: "/api/v1/cases/:id/notice", Obj: "case", Act: "issue_notice", Scope: h.caseScope, Handler: h.notice,
			Doc: httpapi.Doc{Summary: "出具告知书（PDF）", Response: noticeResponse{}, Status: http.StatusCreated, Errors: []string{daiban.EINVALIDTRANSITION}}},
		{Method: http.MethodPost, Path: "/api/v1/cases/:id/agreement", Obj: "case", Act: "agreement", Scope: h.caseScope, Handler: h.agreement,
			Doc: httpapi.Doc{Summary: "起草委托协议，得到签署链接", Response: draftResponse{}, Status: http.StatusCreated, Errors: []string{daiban.EINVALIDTRANSITION}}},
		{Method: http.MethodPost, Path: "/api/v1/cases/:id/agreement/signatures", Obj: "case", Act: "agreement", Scope: h.caseScope, Handler: h.agentSignature,
			MaxBody: signatureBody, TooLarge: signatureTooLarge,
			Doc: httpapi.Doc{Summary: "代办员在委托协议上签名", Request: agentSignatureRequest{}, Response: Status{}, Errors: []string{daiban.EINVALIDTRANSITION}}},
		{Method: http.MethodPost, Path: "/api/v1/cases/:id/agreement/link", Obj: "case", Act: "agreement", Scope: h.caseScope, Handler: h.agreementLink,
			Doc: httpapi.Doc{Summary: "重新生成协议签署链接", Response: draftResponse{}, Status: http.StatusCreated, Errors: []string{daiban.EINVALIDTRANSITION}}},
		{Method: http.MethodPost, Path: "/api/v1/cases/:id/handover", Obj: "case", Act: "handover", Scope: h.caseScope, Handler: h.handover,
			Doc: httpapi.Doc{Summary: "核验交付项目，起草交付回执", Request: handoverRequest{}, Response: httpapi.OneOf{draftResponse{}, Dispatched{}}, Status: http.StatusCreated, Errors: []string{daiban.EINVALIDTRANSITION},
				Notes: "窗口当面交付：应答含签署链接 signing_url。邮寄送达（证照到付）：须填写 post（承运商、运单号、收件地址），应答含承运商、运单号与是否已向申请人发送确认码（code_sent），申请人在查询页确认签收。"}},
		{Method: http.MethodPost, Path: "/api/v1/cases/:id/handover/link", Obj: "case", Act: "handover", Scope: h.caseScope, Handler: h.handoverLink,
			Doc: httpapi.Doc{Summary: "重新生成交付回执签署链接", Response: draftResponse{}, Status: http.StatusCreated, Errors: []string{daiban.EINVALIDTRANSITION}}},
		// 一表申请: the combined application form of a 一件事 case.
		{Method: http.MethodPost, Path: "/api/v1/cases/:id/application", Obj: "case", Act: "issue_notice", Scope: h.caseScope, Handler: h.application,
			Doc: httpapi.Doc{Summary: "出具一表申请书（一件事各事项合一，加盖电子印章）", Response: Document{}, Status: http.StatusCreated, Errors: []string{daiban.EINVALID},
				Notes: "只用于含两个及以上事项的“一件事”案件，否则答 422。"}},
		// Results by post (证照到付).
		{Method: http.MethodGet, Path: "/api/v1/cases/:id/delivery", Obj: "case", Act: "read", Scope: h.caseScope, Handler: h.delivery,
			Doc: httpapi.Doc{Summary: "办理结果的交付方式与邮寄状态（地址脱敏）", Response: cases.DeliveryView{}}},
		{Method: http.MethodPost, Path: "/api/v1/cases/:id/delivery/proof", Obj: "case", Act: "handover", Scope: h.caseScope, Handler: h.carrierProof,
			MaxBody: signatureBody, TooLarge: "签收凭证图片过大",
			Doc: httpapi.Doc{Summary: "录入承运人签收凭证，加盖交付回执并办结邮寄送达", Request: carrierProofRequest{}, Response: Status{}, Errors: []string{daiban.EINVALIDTRANSITION}}},
		{Method: http.MethodPost, Path: "/api/v1/track/:code/delivery", Public: true, Handler: h.trackDelivery,
			Doc: httpapi.Doc{Summary: "申请人凭查询码与短信确认码确认收到邮寄结果，得到交付回执签署链接", Request: trackDeliveryRequest{}, Response: signingLinkResponse{},
				Errors: []string{daiban.EINVALIDTRANSITION}}},
		{Method: http.MethodGet, Path: "/api/v1/documents/:id", Obj: "case", Act: "document", Scope: h.documentScope, Handler: h.pdf,
			Doc: httpapi.Doc{Summary: "下载文书（PDF）", Produces: "application/pdf"}},
		{Method: http.MethodGet, Path: "/api/v1/certificate", Public: true, Handler: h.certificate,
			Doc: httpapi.Doc{Summary: "政务服务中心根证书（PEM，用于验章）", Produces: "application/x-pem-file"}},
		// The public key infrastructure of the seal (issue 20): the root's
		// CRL (the certificates' CRL distribution point) and the local
		// TSA's certificate, for offline checks.
		{Method: http.MethodGet, Path: "/pki/root.crl", Public: true, Handler: h.rootCRL},
		{Method: http.MethodGet, Path: "/pki/root.pem", Public: true, Handler: h.certificate},
		{Method: http.MethodGet, Path: "/pki/tsa.pem", Public: true, Handler: h.tsaCert},
		{Method: http.MethodGet, Path: "/api/v1/sign/:token", Public: true, Handler: h.signInfo,
			Doc: httpapi.Doc{Summary: "签署链接的信息（申请人在平板上看到的文书）", Response: SignInfo{}}},
		{Method: http.MethodPost, Path: "/api/v1/sign/:token", Public: true, Handler: h.sign, MaxBody: signatureBody, TooLarge: signatureTooLarge,
			Doc: httpapi.Doc{Summary: "申请人签名（核对证件号码后四位）", Request: signatureRequest{}, Response: signResponse{}, Errors: []string{daiban.EINVALIDTRANSITION, daiban.ETOOMANYREQUESTS}}},
		{Method: http.MethodGet, Path: "/api/v1/verify/:key", Public: true, Handler: h.verify,
			Doc: httpapi.Doc{Summary: "核验文书真伪（扫描二维码）", Response: Verification{}}},
	}
}

// A signature's body holds one PNG (at most 512 KiB, pdf.CheckSignature)
// in base64 and a few short fields.
const (
	signatureBody     = 1 << 20
	signatureTooLarge = "签名图片过大，请清除后重签"
)

func caseID(c echo.Context) int64 {
	id, _ := strconv.ParseInt(c.Param("id"), 10, 64)
	return id
}

func actor(c echo.Context) cases.Actor {
	p := httpapi.CurrentPrincipal(c)
	return cases.Actor{Username: p.Username, Role: p.Role, Region: p.Region}
}

// documentScope finds the case of a document so the guard can decide.
func (h *Handler) documentScope(c echo.Context, p httpapi.Principal) (string, string, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return "", "", httpapi.ErrNotFound
	}
	cid, err := h.svc.CaseOf(c.Request().Context(), id)
	if err != nil {
		return "", "", err
	}
	region, own, err := h.svc.cases.Scope(c.Request().Context(), cid, p.Username)
	if err != nil {
		return "", "", err
	}
	if own {
		return region, policies.RelOwn, nil
	}
	return region, policies.RelAny, nil
}

func (h *Handler) notice(c echo.Context) error {
	d, err := h.svc.IssueNotice(c.Request().Context(), actor(c), caseID(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, noticeResponse{DocumentID: d.ID, Document: d})
}

// noticeResponse is the notice issued.
type noticeResponse struct {
	DocumentID int64    `json:"document_id"`
	Document   Document `json:"document"`
}

// agentSignatureRequest is the agent's signature image.
type agentSignatureRequest struct {
	ImagePNG string `json:"image_png" doc:"签名图片（PNG，base64）"`
}

type draftResponse struct {
	DocumentID int64  `json:"document_id"`
	SigningURL string `json:"signing_url"`
}

func (h *Handler) agreement(c echo.Context) error {
	id, url, err := h.svc.DraftAgreement(c.Request().Context(), actor(c), caseID(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, draftResponse{DocumentID: id, SigningURL: url})
}

func (h *Handler) agreementLink(c echo.Context) error {
	id, url, err := h.svc.NewSigningLink(c.Request().Context(), actor(c), caseID(c), KindAgreement)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, draftResponse{DocumentID: id, SigningURL: url})
}

func (h *Handler) handoverLink(c echo.Context) error {
	id, url, err := h.svc.NewSigningLink(c.Request().Context(), actor(c), caseID(c), KindReceipt)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, draftResponse{DocumentID: id, SigningURL: url})
}

type signatureRequest struct {
	ImagePNG string `json:"image_png"`
	IDLast4  string `json:"id_last4"`
}

func decodePNG(s string) ([]byte, error) {
	if s == "" {
		return nil, daiban.Invalid("image_png", "请先签名")
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, daiban.Invalid("image_png", "签名图片应为 base64 编码的 PNG")
	}
	return b, nil
}

func (h *Handler) agentSignature(c echo.Context) error {
	var req agentSignatureRequest
	if err := httpapi.Bind(c, &req); err != nil {
		return err
	}
	png, err := decodePNG(req.ImagePNG)
	if err != nil {
		return err
	}
	st, err := h.svc.AgentSign(c.Request().Context(), actor(c), caseID(c), png)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

type handoverRequest struct {
	Items []struct {
		ID       int64 `json:"id"`
		Verified bool  `json:"verified"`
	} `json:"items"`
	// Post: carrier, waybill and address, for results sent by post.
	Post *cases.Post `json:"post"`
}

func (h *Handler) handover(c echo.Context) error {
	var req handoverRequest
	if err := httpapi.Bind(c, &req); err != nil {
		return err
	}
	verified := map[int64]bool{}
	for i, it := range req.Items {
		if _, dup := verified[it.ID]; dup {
			return daiban.Invalid(fmt.Sprintf("items[%d].id", i), "交付项目 %d 重复", it.ID)
		}
		verified[it.ID] = it.Verified
	}
	ctx := c.Request().Context()
	dv, err := h.svc.cases.DeliveryOf(ctx, h.svc.pool, caseID(c))
	if err != nil {
		return err
	}
	switch {
	case dv.Method == cases.ByPost && req.Post == nil:
		return daiban.Invalid("post", "申请人选择了邮寄送达，请填写承运商、运单号和收件地址")
	case dv.Method == cases.ByPost:
		d, err := h.svc.StartPostedHandover(ctx, actor(c), caseID(c), verified, *req.Post)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusCreated, d)
	case req.Post != nil:
		return daiban.Invalid("post", "申请人选择了窗口当面交付，不能填写邮寄信息")
	}
	id, url, err := h.svc.StartHandover(ctx, actor(c), caseID(c), verified)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, draftResponse{DocumentID: id, SigningURL: url})
}

func (h *Handler) pdf(c echo.Context) error {
	b, d, err := h.svc.PDF(c.Request().Context(), caseID(c))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Content-Disposition", httpapi.ContentDisposition("inline", fmt.Sprintf("%s-%d.pdf", d.Kind, d.ID), fmt.Sprintf("%s-%d.pdf", KindNames[d.Kind], d.ID)))
	c.Response().Header().Set("X-Content-SHA256", d.SHA256)
	return c.Blob(http.StatusOK, "application/pdf", b)
}

func (h *Handler) certificate(c echo.Context) error {
	c.Response().Header().Set("Content-Disposition", httpapi.ContentDisposition("attachment", "daiban-root.pem", "政务服务中心根证书.pem"))
	return c.Blob(http.StatusOK, "application/x-pem-file", h.svc.sealer.RootPEM())
}

// rootCRL serves the root's current CRL (DER, RFC 5280), cacheable for
// an hour.
func (h *Handler) rootCRL(c echo.Context) error {
	crl, err := h.svc.sealer.CRL()
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=3600")
	return c.Blob(http.StatusOK, "application/pkix-crl", crl)
}

func (h *Handler) tsaCert(c echo.Context) error {
	b := h.svc.sealer.LocalTSAPEM()
	if b == nil {
		return daiban.Errorf(daiban.ENOTFOUND, "本中心使用外部时间戳服务（%s），其证书随每个时间戳提供", h.svc.sealer.TSAName())
	}
	c.Response().Header().Set("Content-Disposition", httpapi.ContentDisposition("attachment", "daiban-tsa.pem", "本地时间戳服务证书.pem"))
	return c.Blob(http.StatusOK, "application/x-pem-file", b)
}

func (h *Handler) signInfo(c echo.Context) error {
	info, err := h.svc.SignInfo(c.Request().Context(), c.Param("token"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, info)
}

// sign takes the applicant's signature. The link is looked up before the
// body is even read: a request for a dead link costs one indexed query.
func (h *Handler) sign(c echo.Context) error {
	if err := h.svc.CheckLink(c.Request().Context(), c.Param("token")); err != nil {
		return err
	}
	var req signatureRequest
	if err := httpapi.Bind(c, &req); err != nil {
		return err
	}
	png, err := decodePNG(req.ImagePNG)
	if err != nil {
		return err
	}
	st, err := h.svc.Sign(c.Request().Context(), c.Param("token"), png, req.IDLast4)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, h.withCopy(c, st))
}

func (h *Handler) verify(c echo.Context) error {
	v, err := h.svc.Verify(c.Request().Context(), c.Param("key"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (h *Handler) delivery(c echo.Context) error {
	dv, err := h.svc.cases.DeliveryOf(c.Request().Context(), h.svc.pool, caseID(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, dv)
}

// carrierProof records the carrier's signed proof of a posted delivery.
func (h *Handler) carrierProof(c echo.Context) error {
	var req carrierProofRequest
	if err := httpapi.Bind(c, &req); err != nil {
		return err
	}
	png, err := decodePNG(req.ImagePNG)
	if err != nil {
		return daiban.Invalid("image_png", "请上传承运人签收凭证图片（PNG）")
	}
	st, err := h.svc.CarrierProof(c.Request().Context(), actor(c), caseID(c), png)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

// trackDelivery: the applicant confirms a posted delivery with the
// one-time code and gets the receipt's signing link.
func (h *Handler) trackDelivery(c echo.Context) error {
	var req trackDeliveryRequest
	if err := httpapi.Bind(c, &req); err != nil {
		return err
	}
	url, err := h.svc.DeliverySigningLink(c.Request().Context(), c.Param("code"), req.OTP)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, signingLinkResponse{SigningURL: url})
}

// carrierProofRequest is the carrier's signed proof of delivery.
type carrierProofRequest struct {
	ImagePNG string `json:"image_png" doc:"承运人签收凭证图片（PNG，base64）"`
}

// trackDeliveryRequest is the one-time code of a posted delivery.
type trackDeliveryRequest struct {
	OTP string `json:"otp" doc:"寄出时短信中的确认码"`
}

// signingLinkResponse is the receipt's signing link.
type signingLinkResponse struct {
	SigningURL string `json:"signing_url"`
}

func (h *Handler) application(c echo.Context) error {
	d, err := h.svc.IssueApplication(c.Request().Context(), actor(c), caseID(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, d)
}
