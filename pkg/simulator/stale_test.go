package simulator

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// A stale fault answers success and leaves the old password in place.
func TestFaultStale(t *testing.T) {
	sim := New(SampleState(), Options{})
	sim.SetFault("bob", Fault{Kind: FaultStale, Count: 1})
	form := url.Values{"user": {"bob"}, "password": {"Brand-New-2026!xyz"}}
	req := httptest.NewRequest(http.MethodPost, "/json-api/passwd?api.version=1", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "whm root:"+SampleRootToken)
	w := httptest.NewRecorder()
	sim.Handler(RoleWHM).ServeHTTP(w, req)
	if !strings.Contains(w.Body.String(), `"result":1`) {
		t.Fatalf("want a success reply, got %d %s", w.Code, w.Body.String())
	}
	if sim.CheckPassword("bob", "Brand-New-2026!xyz") || !sim.CheckPassword("bob", SampleBobPassword) {
		t.Error("a stale change must leave the old password")
	}
}
