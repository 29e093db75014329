package batch

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestShowInFlightAndEmailExport(t *testing.T) {
	path := planFile(t, KindEmail, "address,password\na@x.example,pa\nb@x.example,\"p,b\"\nc@x.example,pc\n", ValidateOptions{})
	appendLines(t, path,
		`{"t":"intent","seq":1,"attempt":1,"password":"pa","at":"x"}`+"\n",
		`{"t":"intent","seq":2,"attempt":1,"password":"p,b","at":"x"}`+"\n",
		`{"t":"outcome","seq":2,"line":3,"target":"b@x.example","attempt":1,"ok":true,"exit":0,"at":"x"}`+"\n")
	st, err := Show(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Total != 3 || st.Succeeded != 1 || st.InFlight != 1 || st.Pending != 2 || !st.Planned || st.Meta["api"] != "whmapi1" {
		t.Errorf("status %+v", st)
	}
	var out bytes.Buffer
	if err := ExportSecrets(path, &out); !errors.Is(err, ErrIncomplete) || !strings.Contains(err.Error(), "2 rows are not final yet") {
		t.Fatalf("export of a partial run: %v, want ErrIncomplete with the count", err)
	}
	if want := "address,password\nb@x.example,\"p,b\"\n"; out.String() != want {
		t.Errorf("export %q, want %q", out.String(), want)
	}
	var rec recorder
	if _, err := Resume(context.Background(), path, RunConfig{Exec: rec.exec, Kind: KindEmail}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := ExportSecrets(path, &out); err != nil {
		t.Fatal(err)
	}
	if want := "address,password\nb@x.example,\"p,b\"\na@x.example,pa\nc@x.example,pc\n"; !sameLines(out.String(), want) {
		t.Errorf("export %q, want the lines of %q", out.String(), want)
	}
}

func TestWriteSecretsFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.journal")
	if _, err := Plan(path, strings.NewReader("user,password\na,pa\nb,pb\n"), KindAccount, nil, ValidateOptions{}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "secrets.csv")
	// A killed earlier export left its aside file, unlocked.
	stale := filepath.Join(dir, "secrets.csv.export-12345")
	if err := os.WriteFile(stale, []byte("user,password\na,old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteSecretsFile(path, out); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("export before the run: %v, want ErrIncomplete", err)
	}
	if _, err := os.Lstat(out); !os.IsNotExist(err) {
		t.Fatalf("a partial export was created: %v", err)
	}
	var rec recorder
	if _, err := Resume(context.Background(), path, RunConfig{Exec: rec.exec}); err != nil {
		t.Fatal(err)
	}
	if err := WriteSecretsFile(path, out); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !sameLines(string(data), "user,password\na,pa\nb,pb\n") {
		t.Errorf("export %q", data)
	}
	fi, _ := os.Stat(out)
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("files left: %v, want the journal and the export", entries)
	}
	// An existing file is never replaced.
	if err := os.WriteFile(out, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteSecretsFile(path, out); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("err = %v, want already exists", err)
	}
	if b, _ := os.ReadFile(out); string(b) != "keep" {
		t.Errorf("existing file replaced by %q", b)
	}
}
