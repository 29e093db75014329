package cpanel

// Token helpers against our own simulator (pkg/simulator), whose token
// functions follow cPanel's Whostmgr::API::1::Tokens and Cpanel::API::Tokens.

import (
	"context"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cpctl/cpctl/pkg/simulator"
)

func TestTokensWHM(t *testing.T) {
	srv := startSim(t, simState())
	c := simClient(t, srv, KindWHM, AuthToken, "root", simulator.SampleRootToken)
	ctx := context.Background()
	exp := time.Now().Add(48 * time.Hour).Truncate(time.Second).UTC()
	nt, err := c.CreateToken(ctx, TokenSpec{Name: "ci", ACLs: []string{"passwd", "list-accts"}, Whitelist: []string{"127.0.0.1"}, Expires: exp})
	if err != nil {
		t.Fatal(err)
	}
	if !validAPIToken(nt.Token) || nt.FullAccess || !nt.Expires.Equal(exp) || !reflect.DeepEqual(nt.Whitelist, []string{"127.0.0.1"}) {
		t.Fatalf("created %+v", nt)
	}
	list, err := c.ListTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "ci" || list[1].Name != "imported-1" {
		t.Fatalf("list = %+v", list)
	}
	if !reflect.DeepEqual(list[0].ACLs, []string{"list-accts", "passwd"}) || list[0].FullAccess || !list[1].FullAccess {
		t.Errorf("acls: %+v / %+v", list[0], list[1])
	}
	d, found, ok, err := c.TokenDetails(ctx, nt.Token)
	if err != nil || !found || !ok || d.Name != "ci" || !reflect.DeepEqual(d.ACLs, []string{"passwd", "list-accts"}) {
		t.Fatalf("details = %+v %v %v %v", d, found, ok, err)
	}
	if _, found, _, err := c.TokenDetails(ctx, "NOSUCHTOKEN0123456789ABCDEFGHIJ"); err != nil || found {
		t.Fatalf("unknown token: found %v err %v", found, err)
	}
	_, err = c.CreateToken(ctx, TokenSpec{Name: "ci"})
	wantKind(t, err, ErrRefused, "A conflicting API token with the name “ci” already exists.")
	if err := c.RevokeTokens(ctx, "ci", "never-was"); err != nil {
		t.Fatal(err)
	}
	nc := simClient(t, srv, KindWHM, AuthToken, "root", nt.Token)
	_, err = nc.Ping(ctx)
	wantKind(t, err, ErrAuth, "")
}

func TestTokensCPanel(t *testing.T) {
	srv := startSim(t, simState())
	c := simClient(t, srv, KindCPanel, AuthToken, "bob", simulator.SampleBobToken)
	ctx := context.Background()
	nt, err := c.CreateToken(ctx, TokenSpec{Name: "deploy"})
	if err != nil {
		t.Fatal(err)
	}
	if !nt.FullAccess || !validAPIToken(nt.Token) || nt.Created.IsZero() {
		t.Fatalf("created %+v", nt)
	}
	list, err := c.ListTokens(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "deploy" || !list[0].FullAccess || !list[0].Expires.IsZero() {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if _, _, ok, err := c.TokenDetails(ctx, nt.Token); ok || err != nil {
		t.Errorf("a cPanel server has no token look-up: ok %v err %v", ok, err)
	}
	if err := c.RevokeTokens(ctx, "deploy", "deploy"); err != nil {
		t.Fatal(err)
	}
}

// TestCreateTokenWithoutTokenIsUnreadable: a success without a usable token
// may still have created one, so it is a transport-class failure, never OK.
func TestCreateTokenWithoutTokenIsUnreadable(t *testing.T) {
	tests := []struct{ name, body string }{
		{"no token", `{"data":{"name":"x","create_time":1},"metadata":{"command":"api_token_create","reason":"OK","result":1,"version":1}}`},
		{"short token", `{"data":{"name":"x","token":"ABC"},"metadata":{"command":"api_token_create","reason":"OK","result":1,"version":1}}`},
		{"lower case", `{"data":{"name":"x","token":"abcdefghijklmnopqrstuvwxyz012345"},"metadata":{"command":"api_token_create","reason":"OK","result":1,"version":1}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(Config{URL: "https://h:2087", Kind: KindWHM, Auth: AuthToken, User: "root", Secret: "S",
				Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
					return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
						Body: io.NopCloser(strings.NewReader(tc.body))}, nil
				})})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.CreateToken(context.Background(), TokenSpec{Name: "x"})
			wantKind(t, err, ErrTransport, "unreadable reply")
		})
	}
}
