package loadgen

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// Answer is one request's outcome, given to Config.Observe as it
// happens: fault tests use it to list every acknowledged write and every
// refusal while a fault lasts.
type Answer struct {
	Action string
	Sent   time.Time // when the request was sent
	At     time.Time // when the answer (or the transport error) came
	Status int       // 0 for a transport error
	Code   string    // the error envelope's code, if any
	Err    error     // transport error or unexpected status
	// CaseID and Version are set for an acknowledged create or state
	// action: the case and the version the server answered.
	CaseID, Version int64
}

// Acknowledged reports whether the server acknowledged a case write.
func (a Answer) Acknowledged() bool { return a.Err == nil && a.CaseID != 0 }

// unavailablePause is how long an agent waits after a 503 before its next
// case: a desk during an outage retries, it does not hammer.
const unavailablePause = 200 * time.Millisecond

// observe reports one answer to cfg.Observe.
func (a *agent) observe(ans Answer, body []byte) {
	if a.cfg.Observe == nil {
		return
	}
	var he *httpError
	if errors.As(ans.Err, &he) {
		ans.Status = he.status
		var env struct {
			Error struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		if json.Unmarshal(body, &env) == nil {
			ans.Code = env.Error.Code
		}
	}
	a.cfg.Observe(ans)
}

// acknowledged reports an acknowledged write of bc's case.
func (bc *benchCase) acknowledged(action string, sent time.Time) {
	if bc.a.cfg.Observe == nil {
		return
	}
	bc.a.cfg.Observe(Answer{Action: action, Sent: sent, At: time.Now(), Status: http.StatusOK, CaseID: bc.c.ID, Version: int64(bc.c.Version)})
}

// unavailable reports whether err is a 503 answer.
func unavailable(err error) bool {
	var he *httpError
	return errors.As(err, &he) && he.status == http.StatusServiceUnavailable
}
