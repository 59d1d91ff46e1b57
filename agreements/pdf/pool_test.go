package pdf_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/daiban/daiban"
)

// TestPoolBoundsConcurrency: with Pool(2), never more than two documents
// render at once, and every one completes.
func TestPoolBoundsConcurrency(t *testing.T) {
	r := testRenderer(t)
	r.Pool(2)
	var cur, peak atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := r.Do(context.Background(), func() {
				n := cur.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				time.Sleep(5 * time.Millisecond)
				cur.Add(-1)
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if p := peak.Load(); p != 2 {
		t.Errorf("peak concurrency %d, want 2", p)
	}
}

// TestPoolHonoursContext: a caller waiting for a slot gives up when its
// context ends, with a 503-class error, and the slot works again after.
func TestPoolHonoursContext(t *testing.T) {
	r := testRenderer(t)
	r.Pool(1)
	hold := make(chan struct{})
	started := make(chan struct{})
	go r.Do(context.Background(), func() { close(started); <-hold })
	<-started

	// The slot is held until the call returns, so returning at all shows
	// the wait ended with the context; the bound is generous because
	// validation runs before the wait and CI runs this under -race beside
	// other packages.
	d := benchAgreement(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	errc := make(chan error, 1)
	go func() {
		_, err := r.AgreementCtx(ctx, d)
		errc <- err
	}()
	select {
	case err := <-errc:
		if daiban.ErrorCode(err) != daiban.EUNAVAILABLE {
			t.Fatalf("want unavailable while the pool is full, got %v", err)
		}
	case <-time.After(10 * time.Second):
		close(hold)
		t.Fatal("still waiting for a slot 10 s after a 30 ms deadline")
	}
	t.Logf("gave up after %v", time.Since(t0))
	close(hold)
	if _, err := r.AgreementCtx(context.Background(), benchAgreement(t)); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentRendering renders different documents in parallel (the
// shared font cache and subsetting must be race-free; run with -race).
func TestConcurrentRendering(t *testing.T) {
	r := testRenderer(t)
	base := benchAgreement(t)
	var wg sync.WaitGroup
	names := []string{"欧阳喆", "司马堃", "诸葛犇", "上官淼", "皇甫㛃", "令狐𠇔", "慕容𪚥", "公孙龘"}
	for _, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := base
			d.Applicant.Name = n
			if _, err := r.Agreement(d); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}
