package cpanel

import (
	"context"
	"testing"

	"github.com/cpctl/cpctl/pkg/simulator"
	"github.com/cpctl/cpctl/pkg/simulator/simtest"
)

func BenchmarkBuildRequest(b *testing.B) {
	c := mustClient(b, KindWHM)
	req := Request{API: CPAPI2, Module: "Email", Function: "passwdpop", User: "bob", Params: []Param{
		{Key: "email", Value: "info"}, {Key: "domain", Value: "bob.example"}, {Key: "password", Value: "Zq7!vR2#mX9@pL4$ &=+"}}}
	b.ReportAllocs()
	for b.Loop() {
		bt, err := c.build(req)
		if err != nil {
			b.Fatal(err)
		}
		if len(encodeForm(bt.form)) == 0 {
			b.Fatal("empty body")
		}
	}
}

func BenchmarkDecodeReply(b *testing.B) {
	cases := []struct {
		name string
		req  Request
		kind Kind
		body string
	}{
		{"whmapi1", reqWHM1, KindWHM, whm1PasswdOK},
		{"cpapi2", reqOwn2, KindCPanel, `{"cpanelresult":{"apiversion":2,"module":"Passwd","func":"change_password","data":[{"status":1,"statustxt":"Password changed for user “example”.","passwdoutput":"...","applist":[{"app":"system"},{"app":"ftp"},{"app":"mail"},{"app":"postgresql"}]}],"event":{"result":1}}}`},
		{"uapi", reqUAPI, KindCPanel, uapiOK},
		{"whmapi0-xml", reqWHM0XML, KindWHM, `<passwd><passwd><rawout>x</rawout><services><app>system</app></services><status>1</status><statusmsg>Password changed for user “bob”.</statusmsg></passwd></passwd>`},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			c := mustClient(b, tc.kind)
			bt, _ := c.build(tc.req)
			body := []byte(tc.body)
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				rep := &Reply{Status: 200, ContentType: "application/json", Body: body}
				if !bt.xml {
					v, err := decodeJSON(body)
					if err != nil {
						b.Fatal(err)
					}
					rep.Decoded = v
				}
				if a := analyze(bt, rep); a.err != nil {
					b.Fatal(a.err)
				}
			}
		})
	}
}

// BenchmarkCall measures whole calls over TLS keep-alive against the simulator, sequentially
// and from parallel goroutines (as a bulk run does), through the transport New builds.
func BenchmarkCall(b *testing.B) {
	srv := simtest.NewServer(b, simulator.SampleState(), simulator.Options{})
	c, err := New(Config{URL: srv.WHMURL, Kind: KindWHM, User: "root", Secret: simulator.SampleRootToken, CAFile: srv.CAFile})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close(context.Background()) })
	req := Request{API: WHMAPI1, Function: "version"}
	ctx := context.Background()
	b.Run("sequential", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Call(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(4) // 8 goroutines on 2 CPUs, as a bulk run at --concurrency 8
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.Call(ctx, req); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
