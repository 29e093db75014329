package simulator

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// benchAccounts is the size of the state behind the handler benchmarks: the
// bulk benchmark's order of magnitude, so map lookups are not flattered.
const benchAccounts = 10_000

func benchSim(b *testing.B) *Simulator {
	b.Helper()
	st := SampleState()
	for i := 0; i < benchAccounts; i++ {
		u := fmt.Sprintf("b%06d", i)
		st.AddAccount(u, "root", u+".example", "Old-Pass-2024!xyz")
	}
	return New(st, Options{})
}

// BenchmarkHandlerWHM1Passwd is the simulator's hot path in a bulk run: an
// authenticated WHM API 1 passwd call, served without the network, so the
// figure is the handler alone (form parse, auth, score, hash, JSON reply).
func BenchmarkHandlerWHM1Passwd(b *testing.B) {
	for _, tc := range []struct {
		name string
		auth string
	}{
		{"token", whmAuth("root", SampleRootToken)},
		{"basic", basicAuth("root", SampleRootPassword)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h := benchSim(b).Handler(RoleWHM)
			bodies := make([][]byte, 256)
			for i := range bodies {
				bodies[i] = []byte(url.Values{
					"user":     {fmt.Sprintf("b%06d", i*37%benchAccounts)},
					"password": {fmt.Sprintf("Zq8#wK%04d!pL2$xV", i)},
				}.Encode())
			}
			ok := []byte(`"result":1`)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				r := httptest.NewRequest(http.MethodPost, "/json-api/passwd?api.version=1", bytes.NewReader(bodies[i%len(bodies)]))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.Header.Set("Authorization", tc.auth)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK || !bytes.Contains(w.Body.Bytes(), ok) {
					b.Fatalf("status %d: %s", w.Code, w.Body.Bytes())
				}
			}
		})
	}
}

// BenchmarkHandlerParallel is the same call from every CPU at once: it shows
// whether the state lock serialises concurrent clients.
func BenchmarkHandlerParallel(b *testing.B) {
	h := benchSim(b).Handler(RoleWHM)
	auth := whmAuth("root", SampleRootToken)
	ok := []byte(`"result":1`)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			body := "user=" + fmt.Sprintf("b%06d", i%benchAccounts) + "&password=" + url.QueryEscape(fmt.Sprintf("Zq8#wK%04d!pL2$xV", i%10000))
			r := httptest.NewRequest(http.MethodPost, "/json-api/passwd?api.version=1", bytes.NewReader([]byte(body)))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("Authorization", auth)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK || !bytes.Contains(w.Body.Bytes(), ok) {
				b.Errorf("status %d: %s", w.Code, w.Body.Bytes())
				return
			}
		}
	})
}
