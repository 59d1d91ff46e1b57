package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/daiban/daiban/cases"
)

// CodePayload is the JSON body of a one-time code sent to an applicant's
// phone (a booking's confirmation, a posted result's receipt).
type CodePayload struct {
	Event   string `json:"event"` // always "one_time_code"
	Purpose string `json:"purpose"`
	Phone   string `json:"phone"`
	Text    string `json:"text"`
	At      string `json:"at"`
}

// CodeEvent names a one-time code in a webhook's body.
const CodeEvent = "one_time_code"

// CodeSender sends applicants' one-time codes through the same channel
// as their notifications: the SMS gateway (else the platform) partner's
// webhook, signed alike. A code is wanted now or never, so it is sent at
// once rather than through the outbox's retries; a failure is the
// caller's to show. With no partner set up, Fallback gets it (a log line
// without the phone's digits).
type CodeSender struct {
	Service  *Service
	Fallback cases.CodeSender
	Now      func() time.Time
}

// SendCode implements cases.CodeSender.
func (c CodeSender) SendCode(ctx context.Context, phone, purpose, text string) error {
	s := c.Service
	target, err := s.applicantPartners(ctx, s.c.Pool)
	if err != nil {
		return err
	}
	if len(target) == 0 {
		return c.Fallback.SendCode(ctx, phone, purpose, text)
	}
	p, key, err := s.c.Partners.Secret(ctx, s.c.Pool, target[0].ID)
	if err != nil {
		return err
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	body, err := json.Marshal(CodePayload{Event: CodeEvent, Purpose: purpose, Phone: phone, Text: text, At: now().UTC().Format(time.RFC3339)})
	if err != nil {
		return err
	}
	if err := s.c.Webhook.Send(ctx, Message{Event: CodeEvent, Body: body, Partner: &p, Key: key}); err != nil {
		s.c.Logger.WarnContext(ctx, "one-time code not delivered", "partner", p.Name, "purpose", purpose, "error", err)
		return fmt.Errorf("短信网关未能发送验证码，请稍后重试: %w", err)
	}
	return nil
}
