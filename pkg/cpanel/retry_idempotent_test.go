package cpanel

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// A gateway's 504 may come after the call ran behind it: a password change
// with a fixed new password is repeated, but Passwd::change_password (the
// old password no longer works once it ran) and any generic call are not.
func TestGatewayRetryOnlyWhenIdempotent(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusGatewayTimeout)
	}))
	defer srv.Close()
	newClient := func(kind Kind) *Client {
		c, err := New(Config{URL: srv.URL, Kind: kind, User: "root", Secret: "TOKEN", MaxRetries: 2})
		if err != nil {
			t.Fatal(err)
		}
		c.sleep = noSleep
		return c
	}
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
		want int32
	}{
		{"whm passwd is retried", func() error {
			_, err := newClient(KindWHM).AccountPasswd(ctx, WHMAPI1, "bob", "New-Pass-2026!x", AccountPasswdOptions{})
			return err
		}, 3},
		{"change_password is not", func() error {
			_, err := newClient(KindCPanel).ChangeOwnPassword(ctx, "old", "New-Pass-2026!x", ChangeOwnOptions{})
			return err
		}, 1},
		{"a generic call is not", func() error {
			_, err := newClient(KindWHM).Call(ctx, Request{API: WHMAPI1, Function: "createacct"})
			return err
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hits.Store(0)
			err := tt.call()
			var e *Error
			if !errors.As(err, &e) || e.Kind != ErrTransport {
				t.Fatalf("want a transport error, got %v", err)
			}
			if got := hits.Load(); got != tt.want {
				t.Errorf("%d requests, want %d", got, tt.want)
			}
		})
	}
}

// A two-factor code source that fails is asked once, not retried like a
// network error.
func TestFailingOTPNotRetried(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("no request should be sent without a code")
	}))
	defer srv.Close()
	var asked atomic.Int32
	c, err := New(Config{URL: srv.URL, Kind: KindWHM, User: "root", Secret: "TOKEN", MaxRetries: 2,
		OTP: func(context.Context) (string, error) { asked.Add(1); return "", errors.New("no code") }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Ping(context.Background()); err == nil {
		t.Fatal("want an error")
	}
	if asked.Load() != 1 {
		t.Errorf("code source asked %d times, want 1", asked.Load())
	}
}
