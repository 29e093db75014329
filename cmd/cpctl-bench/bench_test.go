package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []float64
		want summary
	}{
		{"empty", nil, summary{}},
		{"one", []float64{3}, summary{Median: 3, Min: 3, Max: 3, N: 1}},
		{"odd unsorted", []float64{5, 1, 3}, summary{Median: 3, Min: 1, Max: 5, N: 3}},
		{"even averages the middle two", []float64{4, 1, 2, 10}, summary{Median: 3, Min: 1, Max: 10, N: 4}},
		{"outlier does not move the median", []float64{1, 1, 1, 1, 1000}, summary{Median: 1, Min: 1, Max: 1000, N: 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]float64(nil), tc.in...)
			if got := summarize(tc.in); got != tc.want {
				t.Fatalf("summarize(%v) = %+v, want %+v", tc.in, got, tc.want)
			}
			for i := range in {
				if in[i] != tc.in[i] {
					t.Fatal("summarize reordered its input")
				}
			}
		})
	}
}

func TestJudge(t *testing.T) {
	for _, tc := range []struct {
		name  string
		goal  *goal
		ratio float64
		quick bool
		want  verdict
	}{
		{"at most, under", &goal{AtMost: true, Limit: 1.15}, 1.10, false, pass},
		{"at most, on the limit", &goal{AtMost: true, Limit: 1.15}, 1.15, false, pass},
		{"at most, over", &goal{AtMost: true, Limit: 1.15}, 1.16, false, fail},
		{"at least, over", &goal{Limit: 0.95}, 0.97, false, pass},
		{"at least, under", &goal{Limit: 0.95}, 0.90, false, fail},
		{"quick asserts nothing", &goal{Limit: 0.95}, 0.10, true, info},
		{"no goal is informational", nil, 3, false, info},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := result{Goal: tc.goal, Ratio: tc.ratio}
			r.judge(tc.quick)
			if r.Verdict != tc.want {
				t.Fatalf("verdict %s, want %s", r.Verdict, tc.want)
			}
		})
	}
	r := result{Goal: &goal{Limit: 1}, Verdict: failed}
	r.judge(false)
	if r.Verdict != failed {
		t.Fatal("judge overwrote an error verdict")
	}
}

func TestParseInitTrace(t *testing.T) {
	in := []byte(`init internal/bytealg @0 ms, 0 ms clock, 0 bytes, 0 allocs
init net/http @1.2 ms, 0.035 ms clock, 8952 bytes, 96 allocs
something else entirely
init github.com/spf13/viper @2.5 ms, 0.4 ms clock, 1024 bytes, 7 allocs
`)
	got := parseInitTrace(in)
	want := []initEntry{
		{"internal/bytealg", 0, 0, 0},
		{"net/http", 0.035, 8952, 96},
		{"github.com/spf13/viper", 0.4, 1024, 7},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		quick   bool
		only    string
		wantErr bool
	}{
		{args: nil},
		{args: []string{"-quick"}, quick: true},
		{args: []string{"--short"}, quick: true},
		{args: []string{"-only", "1, 3"}, only: "13"},
		{args: []string{"-only", "7,2"}, only: "72"},
		{args: []string{"-only", "8"}, wantErr: true},
		{args: []string{"-only", "12"}, wantErr: true},
		{args: []string{"-only", "7d"}, only: "7"},
		{args: []string{"-only", "7e"}, wantErr: true},
		{args: []string{"stray"}, wantErr: true},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			o, err := parseFlags(tc.args, io.Discard)
			if tc.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.quick != tc.quick {
				t.Errorf("quick = %v", o.quick)
			}
			if tc.quick && o.sizes != quickSizes || !tc.quick && o.sizes != fullSizes {
				t.Errorf("sizes %+v do not match the mode", o.sizes)
			}
			for _, id := range "1234567" {
				want := tc.only == "" || strings.ContainsRune(tc.only, id)
				if o.want(string(id)) != want {
					t.Errorf("want(%c) = %v", id, !want)
				}
			}
		})
	}
}

func TestCurlConfigKeepsSecretsQuoted(t *testing.T) {
	form := passwdForm("bob", `p"w\d&x=1 y`)
	conf := curlConfig("https://127.0.0.1:1/json-api/passwd?api.version=1", "/tmp/ca.pem", "whm root:TOKEN", form)
	for _, want := range []string{
		`url = "https://127.0.0.1:1/json-api/passwd?api.version=1"`,
		`header = "Authorization: whm root:TOKEN"`,
		`data = "user=bob&password=p%22w%5Cd%26x%3D1+y"`,
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("config lacks %s:\n%s", want, conf)
		}
	}
	v, err := url.ParseQuery(string(form))
	if err != nil || v.Get("password") != `p"w\d&x=1 y` {
		t.Fatalf("form does not round-trip: %v %q", err, v.Get("password"))
	}
}

func TestMinimalHandler(t *testing.T) {
	h := minimalHandler("whm root:T")
	for _, tc := range []struct {
		name   string
		auth   string
		body   string
		status int
		want   string
	}{
		{"success", "whm root:T", "user=bob&password=x", 200, `"reason":"Password changed for user “bob”.","result":1`},
		{"missing user", "whm root:T", "password=x", 200, `"result":0`},
		{"bad token", "whm root:X", "user=bob&password=x", 403, "Access denied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/json-api/passwd?api.version=1", strings.NewReader(tc.body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("Authorization", tc.auth)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.want) {
				t.Fatalf("%d %s, want %d with %s", w.Code, w.Body.String(), tc.status, tc.want)
			}
		})
	}
}

// TestLoadgenAgainstMinimal drives the real TLS yardstick pair briefly: every
// call must count, and a refused call must fail the run.
func TestLoadgenAgainstMinimal(t *testing.T) {
	m, err := startMinimal("whm root:T")
	if err != nil {
		t.Fatal(err)
	}
	defer m.close()
	l := newLoadgen(m.url, m.pool, "whm root:T", 4)
	d, err := l.run(t.Context(), 200, 4, func(i int) []byte { return passwdForm("bob", "pw") })
	l.close()
	if err != nil {
		t.Fatal(err)
	}
	if d <= 0 || d > time.Minute {
		t.Fatalf("implausible duration %s", d)
	}
	bad := newLoadgen(m.url, m.pool, "whm root:WRONG", 2)
	defer bad.close()
	if _, err := bad.run(t.Context(), 10, 2, func(int) []byte { return passwdForm("bob", "pw") }); err == nil {
		t.Fatal("refused calls were counted as work")
	}
}

func TestPrintTable(t *testing.T) {
	rs := []result{
		{ID: "1a", What: "start-up", Goal: &goal{AtMost: true, Limit: 1.15}, Ratio: 1.05, Verdict: pass,
			Figures: []figure{{"cpctl", summary{Median: 0.005, Min: 0.004, Max: 0.006, N: 3}, unitSeconds}}},
		{ID: "2", What: "curl | pipe", Verdict: skipped, Note: "skipped: curl not installed"},
	}
	var txt, md bytes.Buffer
	if err := printTable(&txt, rs); err != nil {
		t.Fatal(err)
	}
	if err := printMarkdown(&md, rs); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1.050", "PASS", "cpctl 5.00ms [4.00ms..6.00ms] n=3", "skipped: curl not installed"} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, txt.String())
		}
	}
	if !strings.Contains(md.String(), `curl \| pipe`) {
		t.Errorf("markdown did not escape a pipe:\n%s", md.String())
	}
}
