package passwd

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/cpctl/cpctl/pkg/cpanel"
	"github.com/cpctl/cpctl/pkg/fate"
)

// ownerServer answers getdomainowner and list_database_users, counting the
// look-ups per domain.
func ownerServer(t *testing.T) (*cpanel.Client, func() map[string]int) {
	t.Helper()
	var mu sync.Mutex
	asked := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/json-api/getdomainowner":
			d := form.Get("domain")
			mu.Lock()
			asked[d]++
			mu.Unlock()
			switch d {
			case "bob.example", "shop.bob.example":
				_, _ = io.WriteString(w, `{"data":{"user":"bob"},"metadata":{"command":"getdomainowner","reason":"OK","result":1,"version":1}}`)
			case "broken.example":
				w.WriteHeader(http.StatusInternalServerError)
			default:
				_, _ = io.WriteString(w, `{"data":{"user":null},"metadata":{"command":"getdomainowner","reason":"OK","result":1,"version":1}}`)
			}
		case "/json-api/list_database_users":
			mu.Lock()
			asked["list_database_users"]++
			mu.Unlock()
			_, _ = io.WriteString(w, `{"data":{"payload":[{"cpuser":"bob","engine":"mysql","name":"bob_wp"},{"cpuser":"al","engine":"postgresql","name":"alice_app"}]},"metadata":{"result":1}}`)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	c, err := cpanel.New(cpanel.Config{URL: srv.URL, Kind: cpanel.KindWHM, User: "root", Secret: "TOKEN", MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return c, func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		out := map[string]int{}
		for k, v := range asked {
			out[k] = v
		}
		return out
	}
}

// However many rows name a domain, and however many workers run them at
// once, its owner is asked for once per run; so are the database users.
func TestOwnersOncePerDomain(t *testing.T) {
	c, asked := ownerServer(t)
	ow := newOwners()
	ctx := context.Background()
	rows := []struct {
		kind   Kind
		target string
		owner  string
		state  fate.State // of a failed look-up, as a bulk row
	}{
		{Email, "info@bob.example", "bob", ""},
		{Email, "sales@BOB.example", "bob", ""},
		{FTP, "files@bob.example", "bob", ""},
		{WebDisk, "dav@shop.bob.example", "bob", ""},
		{Email, "x@nobody.example", "", fate.Refused},
		{Email, "x@broken.example", "", fate.NotSent},
		{MySQL, "bob_wp", "bob", ""},
		{PostgreSQL, "alice_app", "al", ""},
		{PostgreSQL, "bob_wp", "", fate.Refused}, // bob_wp is a MySQL user
	}
	var wg sync.WaitGroup
	for range 8 {
		for _, r := range rows {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := &plan{kind: r.kind, display: r.target, find: ownerOfDomain}
				p.user, p.domain, _ = strings.Cut(r.target, "@")
				if r.kind.isDB() {
					p.user, p.domain, p.find = r.target, "", ownerOfDBUser
				}
				err := ow.findOwner(ctx, c, p)
				if r.state == "" {
					if err != nil || p.owner != r.owner {
						t.Errorf("%s: owner %q, %v; want %q", r.target, p.owner, err, r.owner)
					}
					return
				}
				out := unsentOutcome(err)
				if err == nil || out.State != r.state || !strings.Contains(out.Message, "was not sent") {
					t.Errorf("%s: %v, outcome %+v; want %s", r.target, err, out, r.state)
				}
			}()
		}
	}
	wg.Wait()
	want := map[string]int{"bob.example": 1, "shop.bob.example": 1, "nobody.example": 1, "broken.example": 1, "list_database_users": 1}
	got := asked()
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s asked %d times, want %d (all: %v)", k, got[k], n, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("asked %v, want %v", got, want)
	}
}

// A plan with its owner given asks nothing.
func TestOwnerGivenAsksNothing(t *testing.T) {
	c, asked := ownerServer(t)
	p := &plan{kind: Email, user: "info", domain: "bob.example", owner: "carol"}
	if err := newOwners().findOwner(context.Background(), c, p); err != nil || p.owner != "carol" {
		t.Fatalf("owner %q, %v", p.owner, err)
	}
	if n := len(asked()); n != 0 {
		t.Errorf("%d look-ups, want none", n)
	}
}
