package simulator

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// The capacity model's timings are checked in a synctest bubble: the clock
// only moves when every goroutine waits, so a call's duration is exactly
// the queue, service and latency the model adds, with no real sleeping.

var versionCall = req{path: "/json-api/version", query: "api.version=1", auth: rootAuth}

// outcome is what one concurrent call saw.
type outcome struct {
	status     int
	retryAfter string
	took       time.Duration
}

// burst sends n calls at the same instant and returns what each saw, in no
// particular order: callers count.
func burst(t *testing.T, h http.Handler, n int, r req) []outcome {
	t.Helper()
	out := make([]outcome, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			start := time.Now()
			w := serve(t, h, r)
			out[i] = outcome{status: w.Code, retryAfter: w.Header().Get("Retry-After"), took: time.Since(start)}
		})
	}
	wg.Wait()
	return out
}

func TestCapacityQueues(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name  string
		opts  Options
		calls int
		// want counts the calls that finished after each duration (200 OK).
		want map[time.Duration]int
	}{
		{"two workers, five calls", Options{Capacity: Capacity{Limit: 2, ServiceTime: 50 * ms}}, 5,
			map[time.Duration]int{50 * ms: 2, 100 * ms: 2, 150 * ms: 1}},
		{"latency comes on top", Options{Latency: 20 * ms, Capacity: Capacity{Limit: 1, ServiceTime: 30 * ms}}, 3,
			map[time.Duration]int{50 * ms: 1, 80 * ms: 1, 110 * ms: 1}},
		{"within capacity nobody waits", Options{Capacity: Capacity{Limit: 8, ServiceTime: 10 * ms}}, 8,
			map[time.Duration]int{10 * ms: 8}},
		{"no capacity, no service time", Options{Latency: 5 * ms}, 4,
			map[time.Duration]int{5 * ms: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := New(SampleState(), tt.opts).Handler(RoleWHM)
				got := map[time.Duration]int{}
				for _, o := range burst(t, h, tt.calls, versionCall) {
					if o.status != http.StatusOK {
						t.Fatalf("status %d, want 200", o.status)
					}
					got[o.took]++
				}
				if len(got) != len(tt.want) {
					t.Fatalf("durations %v, want %v", got, tt.want)
				}
				for d, n := range tt.want {
					if got[d] != n {
						t.Fatalf("durations %v, want %v", got, tt.want)
					}
				}
			})
		})
	}
}

func TestCapacityQueueLimit(t *testing.T) {
	tests := []struct {
		name       string
		c          Capacity
		calls      int
		wantOK     int
		retryAfter string
	}{
		{"one worker, queue of one", Capacity{Limit: 1, QueueLimit: 1, ServiceTime: time.Second}, 4, 2, "1"},
		{"queue of four", Capacity{Limit: 2, QueueLimit: 4, ServiceTime: time.Second}, 9, 6, "1"},
		{"retry-after rounded up", Capacity{Limit: 1, QueueLimit: 1, ServiceTime: time.Second, RetryAfter: 1500 * time.Millisecond}, 3, 2, "2"},
		{"no queue limit", Capacity{Limit: 1, ServiceTime: time.Millisecond}, 20, 20, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := New(SampleState(), Options{Capacity: tt.c}).Handler(RoleWHM)
				ok := 0
				for _, o := range burst(t, h, tt.calls, versionCall) {
					switch o.status {
					case http.StatusOK:
						ok++
					case http.StatusServiceUnavailable:
						if o.retryAfter != tt.retryAfter {
							t.Errorf("Retry-After %q, want %q", o.retryAfter, tt.retryAfter)
						}
						if o.took != 0 {
							t.Errorf("a 503 took %v: an overflow must be answered at once", o.took)
						}
					default:
						t.Errorf("status %d", o.status)
					}
				}
				if ok != tt.wantOK {
					t.Fatalf("%d calls succeeded, want %d", ok, tt.wantOK)
				}
			})
		})
	}
}

func TestCapacityJitterBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Capacity{Limit: 1, ServiceTime: 50 * time.Millisecond, ServiceJitter: 10 * time.Millisecond}
		h := New(SampleState(), Options{Capacity: c}).Handler(RoleWHM)
		var lo, hi time.Duration = time.Hour, 0
		for range 200 {
			start := time.Now()
			if w := serve(t, h, versionCall); w.Code != http.StatusOK {
				t.Fatalf("status %d", w.Code)
			}
			d := time.Since(start)
			lo, hi = min(lo, d), max(hi, d)
		}
		if lo < 40*time.Millisecond || hi > 60*time.Millisecond {
			t.Fatalf("service times span [%v, %v], want within [40ms, 60ms]", lo, hi)
		}
		if hi-lo < 10*time.Millisecond {
			t.Fatalf("service times span [%v, %v]: jitter had no effect", lo, hi)
		}
	})
}

func TestCapacityStaticPagesPass(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := New(SampleState(), Options{Capacity: Capacity{Limit: 1, QueueLimit: 1, ServiceTime: time.Hour}}).Handler(RoleWHM)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		for range 2 { // fill the worker and the queue
			go func() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequestWithContext(ctx, http.MethodPost, "/json-api/version?api.version=1", nil))
			}()
		}
		synctest.Wait()
		start := time.Now()
		w := serve(t, h, req{method: http.MethodGet, path: "/"})
		if w.Code != http.StatusOK || time.Since(start) != 0 {
			t.Fatalf("login page: status %d after %v, want 200 at once", w.Code, time.Since(start))
		}
		if w := serve(t, h, versionCall); w.Code != http.StatusServiceUnavailable {
			t.Fatalf("API call with a full queue: status %d, want 503", w.Code)
		}
	})
}

func TestCapacityCancelledWaiterLeavesQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := New(SampleState(), Options{Capacity: Capacity{Limit: 1, QueueLimit: 1, ServiceTime: time.Second}}).Handler(RoleWHM)
		go serve(t, h, versionCall) // in service for 1 s
		synctest.Wait()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan *httptest.ResponseRecorder)
		go func() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequestWithContext(ctx, http.MethodPost, "/json-api/version?api.version=1", nil))
			done <- w
		}()
		synctest.Wait()
		cancel()
		if w := <-done; w.Code == http.StatusServiceUnavailable {
			t.Fatalf("a caller that gave up got a 503 written")
		}
		// Its place in the queue is free again: the next call waits, it is
		// not refused.
		start := time.Now()
		if w := serve(t, h, versionCall); w.Code != http.StatusOK {
			t.Fatalf("status %d after a waiter left, want 200", w.Code)
		}
		if took := time.Since(start); took != 2*time.Second {
			t.Fatalf("took %v, want 2s (1s left of the first call, then its own)", took)
		}
	})
}
