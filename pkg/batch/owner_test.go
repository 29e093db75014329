package batch

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cpctl/cpctl/pkg/fate"
)

// An owner the executor found for a row that named none is kept with the
// row's outcome, and the secrets export, journal show and the deliveries
// (in the run and on resume) carry it; a row's own owner still wins.
func TestFoundOwnerRecorded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	found := map[string]string{"info@bob.example": "bob", "sales@al.example": "alice", "x@nobody.example": "nobody"}
	exec := func(_ context.Context, row Row, _ string) Outcome {
		o := Outcome{State: fate.Applied, Owner: found[row.Target]}
		if row.Target == "x@nobody.example" {
			o.State, o.Class, o.Message = fate.Refused, "refused", "weak"
		}
		if row.Owner != "" {
			o.Owner = "" // given, not found
		}
		return o
	}
	var (
		mu       sync.Mutex
		owners   []string
		failOnce = true
	)
	deliver := func(_ context.Context, d Delivery) error {
		mu.Lock()
		defer mu.Unlock()
		if d.Row.Target == "sales@al.example" && failOnce {
			failOnce = false
			return errors.New("store down")
		}
		owners = append(owners, d.Row.Target+"="+d.Owner)
		return nil
	}
	cfg := RunConfig{Journal: path, Kind: KindEmail, Concurrency: 1, Exec: exec, Deliver: deliver,
		Input: strings.NewReader("address,password,owner\ninfo@bob.example,pw-1,\nsales@al.example,pw-2,\nown@carol.example,pw-3,carol\nx@nobody.example,pw-4,\n")}
	sum, err := Run(context.Background(), cfg)
	if err != nil || sum.Undelivered != 1 {
		t.Fatalf("sum %+v, %v", sum, err)
	}
	if _, err := Resume(context.Background(), path, cfg); err != nil {
		t.Fatal(err)
	}
	slices.Sort(owners)
	if want := []string{"info@bob.example=bob", "own@carol.example=carol", "sales@al.example=alice"}; !slices.Equal(owners, want) {
		t.Errorf("deliveries %v, want %v (the resume delivers the found owner too)", owners, want)
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(`"found_owner":"bob"`)) || bytes.Contains(data, []byte(`"found_owner":"carol"`)) {
		t.Errorf("journal:\n%s", data)
	}
	var b bytes.Buffer
	if err := ExportSecrets(path, &b); err != nil {
		t.Fatal(err)
	}
	want := "address,password,owner\ninfo@bob.example,pw-1,bob\nsales@al.example,pw-2,alice\nown@carol.example,pw-3,carol\n"
	if got := b.String(); !sameLines(got, want) {
		t.Errorf("export:\n%s\nwant:\n%s", got, want)
	}
	s, err := Show(path)
	if err != nil || len(s.Failures) != 1 || s.Failures[0].Owner != "nobody" {
		t.Errorf("show: %+v, %v", s.Failures, err)
	}
}

// A run that finds no owner writes the journal an older build wrote (no
// found_owner key), and exports as before: no owner column unless a row
// names one.
func TestNoOwnerFoundNoColumn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	_, err := Run(context.Background(), RunConfig{Journal: path, Kind: KindAccount, Exec: outcomesByTarget(nil),
		Input: strings.NewReader("user,password\na,pw-a\n")})
	if err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); bytes.Contains(data, []byte("found_owner")) {
		t.Errorf("journal:\n%s", data)
	}
	var b bytes.Buffer
	if err := ExportSecrets(path, &b); err != nil || b.String() != "user,password\na,pw-a\n" {
		t.Errorf("export %q, %v", b.String(), err)
	}
}
