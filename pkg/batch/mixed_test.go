package batch

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/cpctl/cpctl/pkg/fate"
)

// mixedRows is what `cpctl rotate --owner bob` plans: every kind of bob's
// passwords, each row with its kind and where it was listed.
func mixedRows() []Row {
	return []Row{
		{Kind: KindAccount, Target: "bob", Source: "listaccts user=bob"},
		{Kind: KindFTP, Target: "files@bob.example", Owner: "bob", Source: "Ftp/list_ftp of bob"},
		{Kind: KindEmail, Target: "info@bob.example", Owner: "bob", Source: "Email/list_pops of bob"},
		{Kind: KindMySQL, Target: "bob", Owner: "bob", Source: "Mysql/list_users of bob"}, // same name, other kind: no duplicate
		{Kind: KindPostgreSQL, Target: "bob_pg", Owner: "bob", Source: "Postgresql/list_users of bob"},
		{Kind: KindWebDisk, Target: "dav@bob.example", Owner: "bob", Source: "WebDisk::listwebdisks of bob"},
	}
}

func planRows(t *testing.T, kind Kind, rows []Row) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mixed.journal")
	n, err := PlanRows(path, rows, kind, map[string]string{"profile": "prod"}, ValidateOptions{Generate: true})
	if err != nil {
		t.Fatalf("PlanRows: %v", err)
	}
	if n != len(rows) {
		t.Fatalf("PlanRows planned %d rows, want %d", n, len(rows))
	}
	return path
}

// TestMixedRunKeepsEachRowsKind plans a mixed run, kills it halfway (an
// interrupted context), resumes it and checks that every row reaches the
// executor with its own kind and source, in both runs, and that show and
// export name the kind.
func TestMixedRunKeepsEachRowsKind(t *testing.T) {
	path := planRows(t, KindMixed, mixedRows())
	h, err := ReadHeader(path)
	if err != nil || h.Kind != KindMixed {
		t.Fatalf("header %+v, %v", h, err)
	}
	var (
		mu   sync.Mutex
		seen []string
	)
	ctx, cancel := context.WithCancel(context.Background())
	exec := func(_ context.Context, r Row, pw string) Outcome {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, fmt.Sprintf("%d %s %s %s", r.Seq, r.Kind, r.Target, r.Source))
		switch {
		case r.Kind == KindEmail:
			return Outcome{State: fate.Refused, Class: "refused", Message: "no"}
		case r.Seq == 3+1:
			cancel() // row 4 finishes; 5 and 6 wait for the resume
		}
		return Outcome{State: fate.Applied}
	}
	gen := func(r Row) (string, error) { return "Pw-" + r.Kind.String() + "-" + r.Target, nil }
	if _, err := Resume(ctx, path, RunConfig{Exec: exec, Generate: gen, Concurrency: 1}); err != nil {
		t.Fatal(err)
	}
	sum, err := Resume(context.Background(), path, RunConfig{Exec: exec, Generate: gen, Concurrency: 1, Kind: KindMixed})
	if err != nil {
		t.Fatal(err)
	}
	if sum != (Summary{Total: 6, Succeeded: 5, Failed: 1, Skipped: 4}) {
		t.Errorf("summary %+v", sum)
	}
	want := []string{
		"1 account bob listaccts user=bob",
		"2 ftp files@bob.example Ftp/list_ftp of bob",
		"3 email info@bob.example Email/list_pops of bob",
		"4 mysql bob Mysql/list_users of bob",
		"5 postgresql bob_pg Postgresql/list_users of bob",
		"6 webdisk dav@bob.example WebDisk::listwebdisks of bob",
	}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Errorf("executor saw\n%s\nwant\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}

	st, err := Show(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Kind != KindMixed || len(st.Failures) != 1 || st.Failures[0].Kind != KindEmail || st.Failures[0].Target != "info@bob.example" {
		t.Errorf("show: %+v", st)
	}

	var out bytes.Buffer
	if err := ExportSecrets(path, &out); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(recs[0], ","); got != "kind,target,password,owner" {
		t.Errorf("export header %q", got)
	}
	var rows []string
	for _, r := range recs[1:] {
		rows = append(rows, strings.Join(r, ","))
	}
	sort.Strings(rows)
	wantRows := []string{
		"account,bob,Pw-account-bob,",
		"ftp,files@bob.example,Pw-ftp-files@bob.example,bob",
		"mysql,bob,Pw-mysql-bob,bob",
		"postgresql,bob_pg,Pw-postgresql-bob_pg,bob",
		"webdisk,dav@bob.example,Pw-webdisk-dav@bob.example,bob",
	}
	if strings.Join(rows, "\n") != strings.Join(wantRows, "\n") {
		t.Errorf("export rows\n%s\nwant\n%s", strings.Join(rows, "\n"), strings.Join(wantRows, "\n"))
	}

	// Every row and outcome record names its kind, so the journal reads on
	// its own.
	data, _ := os.ReadFile(path)
	if !bytes.Contains(data, []byte(`"kind":"mysql","source":"Mysql/list_users of bob"`)) ||
		!bytes.Contains(data, []byte(`"state":"refused","ok":false,"exit":1,"class":"refused","msg":"no","at":`)) ||
		bytes.Count(data, []byte(`"t":"outcome"`)) != bytes.Count(data, []byte(`"t":"outcome","seq":`)) {
		t.Errorf("journal:\n%s", data)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if strings.Contains(l, `"t":"outcome"`) && !strings.Contains(l, `"kind":"`) {
			t.Errorf("outcome without its kind: %s", l)
		}
	}
}

// TestSelectionRowsOfOneKind: a run of one kind planned from a selection
// keeps each row's source, and its rows carry no kind of their own.
func TestSelectionRowsOfOneKind(t *testing.T) {
	path := planRows(t, KindEmail, []Row{
		{Target: "info@bob.example", Owner: "bob", Source: "Email/list_pops of bob"},
		{Target: "sales@bob.example", Owner: "bob", Source: "Email/list_pops of bob"},
	})
	data, _ := os.ReadFile(path)
	if bytes.Contains(data, []byte(`"kind":"email","target"`)) || bytes.Count(data, []byte(`"source":"Email/list_pops of bob"`)) != 2 {
		t.Errorf("journal:\n%s", data)
	}
	var got []Row
	var mu sync.Mutex
	if _, err := Resume(context.Background(), path, RunConfig{Concurrency: 1, Kind: KindEmail,
		Generate: func(Row) (string, error) { return "G", nil },
		Exec: func(_ context.Context, r Row, _ string) Outcome {
			mu.Lock()
			got = append(got, r)
			mu.Unlock()
			return Outcome{State: fate.Applied}
		}}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Kind != 0 || got[0].Source != "Email/list_pops of bob" || got[1].Line != 2 {
		t.Errorf("rows %+v", got)
	}
}

func TestPlanRowsRefuses(t *testing.T) {
	tests := []struct {
		name string
		kind Kind
		rows []Row
		want []string
	}{
		{"a mixed row without a kind", KindMixed, []Row{{Target: "bob"}}, []string{"line 1: a mixed run's row needs a kind of its own"}},
		{"a kind in a run of one kind", KindFTP, []Row{{Kind: KindEmail, Target: "a@b.example", Owner: "bob"}}, []string{"line 1: a row of kind email in a run of kind ftp"}},
		{"a duplicate of the same kind", KindMixed, []Row{
			{Kind: KindFTP, Target: "f@bob.example", Owner: "bob"},
			{Kind: KindEmail, Target: "f@bob.example", Owner: "bob"},
			{Kind: KindFTP, Target: "F@bob.example", Owner: "bob"},
		}, []string{"line 3: duplicate of line 1 (same profile, owner and target)"}},
		{"a bad address", KindMixed, []Row{{Kind: KindEmail, Target: "nodomain", Owner: "bob"}}, []string{`line 1: address "nodomain" is not local@domain`}},
		{"a mixed run of rows", KindMixed, []Row{{Kind: KindMixed, Target: "x"}}, []string{"line 1: a mixed run's row needs a kind of its own"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "j")
			_, err := PlanRows(path, tt.rows, tt.kind, nil, ValidateOptions{Generate: true})
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err %v, want a *ValidationError", err)
			}
			var got []string
			for _, e := range ve.Errors {
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("a journal was left: %v", err)
			}
		})
	}
}

// TestRowKindChecked: a journal whose rows do not fit its header's kind is
// damaged, never resumed as another kind of password.
func TestRowKindChecked(t *testing.T) {
	tests := []struct{ name, journal, want string }{
		{"mixed row without a kind", `{"t":"header","v":2,"kind":"mixed","created":"x"}` + "\n" + `{"t":"row","seq":1,"line":1,"target":"bob"}` + "\n",
			`row record 1: a mixed run's row needs a kind of row, not ""`},
		{"mixed row of kind mixed", `{"t":"header","v":2,"kind":"mixed","created":"x"}` + "\n" + `{"t":"row","seq":1,"line":1,"target":"bob","kind":"mixed"}` + "\n",
			`row record 1: a mixed run's row needs a kind of row, not "mixed"`},
		{"kind in a run of one kind", `{"t":"header","v":2,"kind":"account","created":"x"}` + "\n" + `{"t":"row","seq":1,"line":1,"target":"bob","kind":"ftp"}` + "\n",
			`row record 1: kind "ftp" in a run of kind account`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "j")
			if err := os.WriteFile(path, []byte(tt.journal+`{"t":"planned","rows":1}`+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Show(path)
			if err == nil || !errors.Is(err, errDamaged) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Show: %v, want damaged: %s", err, tt.want)
			}
			_, err = Resume(context.Background(), path, RunConfig{Exec: (&recorder{}).exec, Generate: func(Row) (string, error) { return "G", nil }})
			if err == nil || !errors.Is(err, errDamaged) {
				t.Errorf("Resume: %v, want damaged", err)
			}
		})
	}
}

// TestV2JournalResumes resumes testdata/v2-email.journal, written by the
// build before rows had kinds and sources (see testdata/README.md): the
// final rows stay, the others are sent with the passwords their intents
// fixed.
func TestV2JournalResumes(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "v2-email.journal"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "v2.journal")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := Show(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Kind != KindEmail || st.Total != 5 || st.Succeeded != 1 || st.Failed != 1 || st.Pending != 3 || st.InFlight != 0 {
		t.Errorf("status %+v", st)
	}
	var rec recorder
	sum, err := Resume(context.Background(), path, RunConfig{Exec: rec.exec, Kind: KindEmail, Concurrency: 1,
		Generate: func(Row) (string, error) { t.Error("a password was generated"); return "G", nil }})
	if err != nil {
		t.Fatal(err)
	}
	if sum != (Summary{Total: 5, Succeeded: 4, Failed: 1, Skipped: 2}) {
		t.Errorf("summary %+v", sum)
	}
	want := "[{shop@bob.example Gen-shop-pw9!} {news@bob.example Gen-news-pw9!} {help@bob.example Gen-help-pw9!}]"
	if got := fmt.Sprint(rec.calls); got != want {
		t.Errorf("sent %s\nwant %s", got, want)
	}
}

// TestOnlyTakesItsRows: a Resume limited by Only sends its rows alone and
// leaves the others pending, counted but untouched, for the next call.
func TestOnlyTakesItsRows(t *testing.T) {
	rows := mixedRows()
	rows = append(rows, Row{Kind: KindAccount, Target: "zed", Source: "listaccts"})
	path := planRows(t, KindMixed, rows)
	var (
		mu   sync.Mutex
		sent []string
	)
	exec := func(_ context.Context, r Row, _ string) Outcome {
		mu.Lock()
		sent = append(sent, r.Kind.String()+" "+r.Target)
		mu.Unlock()
		return Outcome{State: fate.Applied}
	}
	gen := func(Row) (string, error) { return "G", nil }
	accounts := func(r Row) bool { return r.Kind == KindAccount }
	sum, err := Resume(context.Background(), path, RunConfig{Exec: exec, Generate: gen, Concurrency: 4, Only: accounts})
	if err != nil {
		t.Fatal(err)
	}
	if sum != (Summary{Total: 7, Succeeded: 2, Pending: 5}) {
		t.Errorf("first pass %+v", sum)
	}
	sort.Strings(sent)
	if strings.Join(sent, ",") != "account bob,account zed" {
		t.Errorf("first pass sent %v", sent)
	}
	sent = nil
	sum, err = Resume(context.Background(), path, RunConfig{Exec: exec, Generate: gen, Concurrency: 4, Only: func(r Row) bool { return !accounts(r) }})
	if err != nil {
		t.Fatal(err)
	}
	if sum != (Summary{Total: 7, Succeeded: 7, Skipped: 2}) || len(sent) != 5 || slices.ContainsFunc(sent, func(s string) bool { return strings.HasPrefix(s, "account") }) {
		t.Errorf("second pass %+v sent %v", sum, sent)
	}
}
