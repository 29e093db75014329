package batch

import (
	"bytes"
	"context"
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
	if err := ExportSecrets(path, &out); err != nil {
		t.Fatal(err)
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
