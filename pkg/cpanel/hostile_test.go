package cpanel

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/cpctl/cpctl/pkg/fate"
)

// hostileCase is a reply body a server that is not cPanel (or a broken or hostile one) might
// send, and what cpctl must make of it: only the documented success marker of the API called is
// a success, only its documented failure marker with a reason a refusal, and everything else an
// unreadable reply (exit 4, state unknown). The bodies are our own, built from the shapes in
// docs/protocol.md and the ones issue 15 found accepted as successes.
type hostileCase struct {
	name  string
	req   Request
	kind  Kind
	body  string
	state fate.State // Applied, Refused or Unknown
}

func hostileCases() []hostileCase {
	var out []hostileCase
	add := func(req Request, kind Kind, state fate.State, pairs ...string) {
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, hostileCase{name: string(req.API) + " " + pairs[i], req: req, kind: kind, body: pairs[i+1], state: state})
		}
	}
	whm1 := func(result string) string {
		return `{"data":{"app":["system"]},"metadata":{"command":"passwd","reason":"OK","result":` + result + `,"version":1}}`
	}
	// WHM API 1: metadata.result 1 or "1" only.
	add(reqWHM1, KindWHM, fate.Applied, "result 1", whm1(`1`), `result "1"`, whm1(`"1"`))
	add(reqWHM1, KindWHM, fate.Refused, "result 0 with reason", `{"metadata":{"result":0,"reason":"Sorry, no."}}`,
		`result "0" with reason`, `{"metadata":{"result":"0","reason":"Sorry, no."}}`)
	add(reqWHM1, KindWHM, fate.Unknown,
		`result "false"`, whm1(`"false"`), `result "FALSE"`, whm1(`"FALSE"`), `result "no"`, whm1(`"no"`),
		`result "0.0"`, whm1(`"0.0"`), "result 0.0", whm1(`0.0`), "result -0", whm1(`-0`), "result 0e5", whm1(`0e5`),
		"result 2", whm1(`2`), "result -1", whm1(`-1`), "result 1.0", whm1(`1.0`), "result 1e0", whm1(`1e0`),
		"result true", whm1(`true`), "result false", whm1(`false`), "result null", whm1(`null`),
		`result " 1"`, whm1(`" 1"`), `result "yes"`, whm1(`"yes"`), `result ""`, whm1(`""`),
		"result list", whm1(`[1]`), "result object", whm1(`{"v":1}`),
		"no result", `{"metadata":{"reason":"OK"}}`, "no metadata", `{"data":{}}`,
		"empty object", `{}`, "array", `[]`, "string", `"ok"`, "number", `1`, "null", `null`,
		"result 0 without reason", `{"metadata":{"result":0}}`,
		"UAPI shape", `{"status":1}`, "API 2 shape", api2OK)
	// WHM API 0: the function's record with status 1 or "1".
	api0 := func(status string) string {
		return `{"passwd":[{"status":` + status + `,"statusmsg":"Password changed for user “bob”."}]}`
	}
	add(reqWHM0, KindWHM, fate.Applied, "status 1", api0(`1`), `status "1"`, api0(`"1"`))
	add(reqWHM0, KindWHM, fate.Refused, "status 0", `{"passwd":[{"status":0,"statusmsg":"No password supplied."}]}`)
	add(reqWHM0, KindWHM, fate.Unknown, "empty object", `{}`, "foo bar", `{"foo":"bar"}`,
		"empty list", `{"passwd":[]}`, "record without status", `{"passwd":[{"statusmsg":"ok"}]}`,
		"status true", api0(`true`), `status "ok"`, api0(`"ok"`), "status 2", api0(`2`), "status -0", api0(`-0`),
		"status 0 without message", `{"passwd":[{"status":0}]}`, "WHM API 1 shape", whm1(`1`))
	// cPanel API 2: event.result 1 and data[0].result (or status) 1.
	api2 := func(event, rec string) string {
		return `{"cpanelresult":{"apiversion":2,"module":"Ftp","func":"passwd","data":[` + rec + `],"event":{"result":` + event + `}}}`
	}
	add(reqAPI2, KindWHM, fate.Applied, "ok", api2(`1`, `{"reason":"OK","result":1}`), "string markers", api2(`"1"`, `{"result":"1"}`))
	add(reqAPI2, KindWHM, fate.Refused,
		"refusal in data[0] only", api2(`1`, `{"reason":"You must specify a password.","result":0}`),
		"event 0 with error", `{"cpanelresult":{"data":[],"error":"Nope.","event":{"result":0}}}`,
		"WHM's own refusal wrapped", `{"cpanelresult":{"data":{"reason":"User parameter is invalid or was not supplied","result":"0"},"type":"text","error":"User parameter is invalid or was not supplied"}}`,
		"WHM's own refusal bare", `{"data":{"reason":"Access Denied to bob","result":"0"},"type":"text","error":"Access Denied to bob"}`)
	add(reqAPI2, KindWHM, fate.Unknown,
		"empty cpanelresult", `{"cpanelresult":{}}`, "empty data", `{"cpanelresult":{"data":[]}}`,
		"event 1, empty data", api2(`1`, ``), "event 1, record without result", api2(`1`, `{"reason":"OK"}`),
		"no event", `{"cpanelresult":{"data":[{"result":1}]}}`, "event true", api2(`true`, `{"result":1}`),
		"record result 2", api2(`1`, `{"result":2}`), `record result "true"`, api2(`1`, `{"result":"true"}`),
		"record result 1.0", api2(`1`, `{"result":1.0}`), "event 0 without reason", api2(`0`, `{}`),
		"success with an error", `{"cpanelresult":{"data":[{"result":1}],"event":{"result":1},"error":"odd"}}`,
		"record refusal without reason", api2(`1`, `{"result":0}`), "empty object", `{}`,
		"bare refusal with result 0.0", `{"data":{"reason":"x","result":"0.0"},"error":"x"}`,
		"UAPI shape", uapiOK, "WHM API 1 shape", whm1(`1`))
	// UAPI, direct and through WHM.
	uapi := func(status string) string {
		return `{"status":` + status + `,"data":null,"errors":null,"messages":null,"warnings":null,"metadata":{}}`
	}
	add(reqUAPI, KindCPanel, fate.Applied, "status 1", uapi(`1`), `status "1"`, uapi(`"1"`))
	add(reqUAPI, KindCPanel, fate.Refused, "status 0 with errors", `{"status":0,"errors":["too weak"]}`)
	add(reqUAPI, KindCPanel, fate.Unknown, `status "0.00"`, uapi(`"0.00"`), "status 1.0", uapi(`1.0`),
		"status true", uapi(`true`), "status -1", uapi(`-1`), "no status", `{"data":null}`, "empty object", `{}`,
		"status 0 without errors", uapi(`0`), "status 0, empty errors", `{"status":0,"errors":[]}`)
	add(reqUAPI3, KindWHM, fate.Applied, "wrapped status 1", `{"apiversion":3,"result":`+uapi(`1`)+`}`)
	add(reqUAPI3, KindWHM, fate.Refused,
		"wrapped status 0", `{"apiversion":3,"result":{"status":0,"errors":["You do not have an FTP user named “x”."]}}`,
		"WHM's own refusal bare", `{"data":{"reason":"The user &ldquo;root&rdquo; is not associated with a cPanel account and cannot call cPanel API 2","result":"0"},"type":"text","error":"x"}`)
	add(reqUAPI3, KindWHM, fate.Unknown, `wrapped status "0.00"`, `{"result":{"status":"0.00"}}`,
		"empty result", `{"result":{}}`, "no result", `{"apiversion":3}`, "bare UAPI", uapi(`1`),
		"bare refusal with result 0 number and no reason", `{"data":{"result":0},"type":"text"}`)
	add(reqUAPIC, KindWHM, fate.Applied, "uapi_cpanel ok", `{"data":{"uapi":`+uapi(`1`)+`},"metadata":{"result":1,"reason":"OK"}}`)
	add(reqUAPIC, KindWHM, fate.Refused, "uapi_cpanel failed inside", `{"data":{"uapi":{"status":0,"errors":["no"]}},"metadata":{"result":1,"reason":"OK"}}`)
	add(reqUAPIC, KindWHM, fate.Unknown, "uapi_cpanel no uapi", `{"data":{},"metadata":{"result":1}}`,
		"uapi_cpanel status 2", `{"data":{"uapi":{"status":2}},"metadata":{"result":1}}`)
	return out
}

// TestHostileBodies sends each body as a real HTTP 200 reply and checks the error class, the
// exit code and the row state the caller gets.
func TestHostileBodies(t *testing.T) {
	for _, tc := range hostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {ctJSON}},
					Body: io.NopCloser(strings.NewReader(tc.body)), ContentLength: int64(len(tc.body)), Request: r}, nil
			})
			c, err := New(Config{URL: "https://server.example.com:2087", Kind: tc.kind, User: "root", Secret: "TOKEN", Transport: rt, MaxRetries: -1})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Call(context.Background(), tc.req)
			if got := StateOf(err); got != tc.state {
				t.Fatalf("state %s, want %s (error: %v)", got, tc.state, err)
			}
			var e *Error
			switch tc.state {
			case fate.Applied:
				return
			case fate.Refused:
				if !errors.As(err, &e) || (e.ExitCode() != 1 && e.ExitCode() != 3) || e.Reason == "" {
					t.Fatalf("want a refusal with a reason, got %v", err)
				}
			case fate.Unknown:
				if !errors.As(err, &e) || e.ExitCode() != 4 || !strings.Contains(e.Reason, "unreadable reply") || !IsNetworkError(err) {
					t.Fatalf("want an unreadable reply (exit 4), got %v", err)
				}
			}
			if !e.Written || strings.Contains(e.Error(), "nothing was sent") {
				t.Fatalf("an answered call must count as sent: %+v", e)
			}
		})
	}
}

// TestStateOf checks the mapping from errors onto row states directly.
func TestStateOf(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		want    fate.State
		network bool
	}{
		{"nil", nil, fate.Applied, false},
		{"refused", &Error{Kind: ErrRefused, Status: 200, Written: true, Reason: "weak"}, fate.Refused, false},
		{"auth refused by the server", &Error{Kind: ErrAuth, Status: 403, Written: true, Reason: "Access denied"}, fate.Refused, false},
		{"session login refused", &Error{Kind: ErrAuth, Status: 401, Reason: "invalid_login"}, fate.NotSent, false},
		{"no two-factor code", &Error{Kind: ErrAuth, Reason: "no two-factor code", TwoFactor: true}, fate.NotSent, false},
		{"usage", &Error{Kind: ErrUsage, Reason: "no account"}, fate.NotSent, false},
		{"connect", &Error{Kind: ErrTransport, Reason: "cannot connect"}, fate.NotSent, true},
		{"pin", &Error{Kind: ErrTransport, Reason: "pin", Err: &FingerprintMismatchError{}}, fate.NotSent, true},
		{"written, no reply", &Error{Kind: ErrTransport, Written: true, Reason: "request failed"}, fate.Unknown, true},
		{"unreadable reply", &Error{Kind: ErrTransport, Status: 200, Written: true, Reason: "unreadable reply"}, fate.Unknown, true},
		{"refusal without a status", &Error{Kind: ErrRefused, Written: true}, fate.Unknown, false},
		{"wrapped", errors.Join(errors.New("row 3"), &Error{Kind: ErrRefused, Status: 200, Written: true}), fate.Refused, false},
		{"foreign error", errors.New("something else"), fate.Unknown, false},
		{"zero kind written", &Error{Written: true}, fate.Unknown, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := StateOf(tt.err); got != tt.want {
				t.Errorf("StateOf = %s, want %s", got, tt.want)
			}
			if got := IsNetworkError(tt.err); got != tt.network {
				t.Errorf("IsNetworkError = %v, want %v", got, tt.network)
			}
		})
	}
}
