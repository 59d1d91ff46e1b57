package loadgen

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// signaturePNG draws a small signature stroke once for every signing.
func signaturePNG() (string, error) {
	img := image.NewNRGBA(image.Rect(0, 0, 200, 80))
	for x := 10; x < 190; x++ {
		y := 40 + (x*7)%30 - 15
		for d := -1; d <= 1; d++ {
			img.Set(x, y+d, color.NRGBA{0, 0, 0, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// agent is one simulated worker.
type agent struct {
	cfg     *Config
	rec     *recorder
	gate    *sync.RWMutex
	stopped *atomic.Bool
	sig     string
	cred    Credential
	worker  int
	runID   int64
	token   string
	n       int
	first   bool // the first sign-in, before the timed slices: not gated
}

var errStop = errors.New("stopped")

// httpError is an unexpected answer.
type httpError struct {
	status int
	body   string
}

func (e *httpError) Error() string {
	b := strings.TrimSpace(e.body)
	if len(b) > 200 {
		b = strings.ToValidUTF8(b[:200], "") + "…"
	}
	return fmt.Sprintf("HTTP 状态 %d：%s", e.status, b)
}

// do sends one request while the gate is open and records its latency
// under action; out, when not nil, receives the decoded JSON answer.
func (a *agent) do(ctx context.Context, action, method, path string, body any, header map[string]string, want int, out any) error {
	if !a.first {
		a.gate.RLock()
		defer a.gate.RUnlock()
	}
	if a.stopped.Load() || ctx.Err() != nil {
		return errStop
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.cfg.BaseURL+path, rd)
	if err != nil {
		return err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	t0 := time.Now()
	resp, err := a.cfg.Client.Do(req)
	status := 0
	var data []byte
	if err == nil {
		status = resp.StatusCode
		data, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != want {
			err = &httpError{resp.StatusCode, string(data)}
		}
		if err == nil && out != nil {
			err = json.Unmarshal(data, out)
		}
	}
	if ctx.Err() != nil {
		return errStop
	}
	a.rec.add(action, time.Since(t0), err)
	if err != nil {
		a.observe(Answer{Action: action, Sent: t0, At: time.Now(), Status: status, Err: err}, data)
	}
	return err
}

// loop signs in when it has no token and runs lifecycles until the run
// stops; an expired session (401) sends it back to sign in.
func (a *agent) loop(ctx context.Context) {
	for !a.stopped.Load() && ctx.Err() == nil {
		if a.token == "" {
			err := a.signIn(ctx)
			if err == errStop {
				return
			}
			if err != nil {
				sleep(ctx, time.Second) // wrong password or server away: do not spin
				continue
			}
		}
		err := a.lifecycle(ctx)
		if err == errStop {
			return
		}
		var he *httpError
		if errors.As(err, &he) && he.status == http.StatusUnauthorized {
			a.token = ""
		}
		if unavailable(err) {
			sleep(ctx, unavailablePause)
		}
	}
}

// signIn signs in and keeps the token. The first attempt is reported to
// the run, which waits for every worker's before its clock starts.
func (a *agent) signIn(ctx context.Context) error {
	var r struct {
		Token string `json:"token"`
	}
	err := a.do(ctx, ActLogin, http.MethodPost, "/api/v1/login", map[string]string{"username": a.cred.Username, "password": a.cred.Password}, nil, http.StatusOK, &r)
	if a.first {
		a.first = false
		if err != nil && err != errStop {
			a.rec.mu.Lock()
			if a.rec.signInErr == nil {
				a.rec.signInErr = fmt.Errorf("模拟代办员 %s 无法登录 %s（%v）：请确认 bench 与该服务使用同一个数据库（DATABASE_URL 或 DAIBAN_DATA）", a.cred.Username, a.cfg.BaseURL, err)
			}
			a.rec.mu.Unlock()
		}
		a.rec.signIn.Done()
	}
	if err == nil {
		a.token = r.Token
	}
	return err
}
