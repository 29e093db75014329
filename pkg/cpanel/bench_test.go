package cpanel

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/url"
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

// BenchmarkCallSimulator measures whole calls over TLS keep-alive against the simulator,
// sequentially and from parallel goroutines (as a bulk run does), through connTransport (what
// New uses) and, as the baseline in the same run, net/http's Transport with the same TLS
// configuration.
func BenchmarkCallSimulator(b *testing.B) {
	srv := simtest.NewServer(b, simulator.SampleState(), simulator.Options{})
	u, err := url.Parse(srv.WHMURL)
	if err != nil {
		b.Fatal(err)
	}
	tlsCfg, err := tlsConfig(u.Hostname(), srv.CAFile, false, "")
	if err != nil {
		b.Fatal(err)
	}
	transports := []struct {
		name string
		rt   http.RoundTripper
	}{
		{"conn", newConnTransport(tlsCfg)},
		{"net-http", &http.Transport{TLSClientConfig: tlsCfg, MaxIdleConnsPerHost: 128,
			TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}},
	}
	req := Request{API: WHMAPI1, Function: "version"}
	ctx := context.Background()
	for _, tr := range transports {
		c, err := New(Config{URL: srv.WHMURL, Kind: KindWHM, User: "root", Secret: simulator.SampleRootToken, Transport: tr.rt})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tr.name+"/sequential", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Call(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tr.name+"/parallel", func(b *testing.B) {
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
		c.Close()
		tr.rt.(interface{ CloseIdleConnections() }).CloseIdleConnections()
	}
}
