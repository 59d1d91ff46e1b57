package webhook_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/daiban/daiban/policies/partners/webhook"
)

func TestReceiverRefusesReplaysAndBadSignatures(t *testing.T) {
	t.Parallel()
	key := []byte("dbk_test_secret")
	var got []string
	rc := &webhook.Receiver{Key: key, Handle: func(id string, body []byte) error {
		got = append(got, id+":"+string(body))
		return nil
	}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	post := func(body string, at time.Time, k []byte, id string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewBufferString(body))
		webhook.SignRequest(req, k, []byte(body), at)
		req.Header.Set(webhook.DeliveryHeader, id)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	now := time.Now()
	for _, tc := range []struct {
		name string
		body string
		at   time.Time
		key  []byte
		id   string
		want int
	}{
		{"fresh", `{"a":1}`, now, key, "1", 200},
		{"same delivery again", `{"a":1}`, now, key, "1", 200},
		{"six minutes old", `{"a":2}`, now.Add(-6 * time.Minute), key, "2", 401},
		{"from the future", `{"a":2}`, now.Add(6 * time.Minute), key, "2", 401},
		{"four minutes old", `{"a":3}`, now.Add(-4 * time.Minute), key, "3", 200},
		{"wrong key", `{"a":4}`, now, []byte("other"), "4", 401},
	} {
		if code := post(tc.body, tc.at, tc.key, tc.id); code != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, code, tc.want)
		}
	}
	if len(got) != 2 || got[0] != `1:{"a":1}` || got[1] != `3:{"a":3}` {
		t.Errorf("handled %q, want deliveries 1 and 3 once each", got)
	}
	// A body changed after signing fails.
	req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewBufferString(`{"a":5}`))
	webhook.SignRequest(req, key, []byte(`{"a":6}`), now)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("altered body: status %d, want 401", resp.StatusCode)
	}
}

func TestSignIsTheDocumentedHMAC(t *testing.T) {
	t.Parallel()
	// HMAC-SHA-256("key", "1700000000.{}"), computed independently with
	// openssl dgst -sha256 -hmac key.
	got := webhook.Sign([]byte("key"), 1700000000, []byte("{}"))
	if want := "sha256=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"; got != want {
		t.Fatalf("signature %q, want %q", got, want)
	}
}
