package cmdutil

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/cpctl/cpctl/pkg/termsafe"
)

// WriteRequest prints a request the way --dry-run shows it: the request
// line, the headers in a stable order, a blank line and the form body. The
// caller passes values that are already redacted.
func WriteRequest(w io.Writer, method, url string, header http.Header, body string) {
	fmt.Fprintf(w, "%s %s\n", method, url)
	writeHeaders(w, "", header)
	if body != "" {
		fmt.Fprintf(w, "\n%s\n", body)
	}
}

// DryRequest is a request --dry-run shows, as -o json, jsonl and yaml print
// it: a script checking a change before it runs reads the same format it
// asked for. Its values are already redacted.
type DryRequest struct {
	Method  string            `json:"method" yaml:"method"`
	URL     string            `json:"url" yaml:"url"`
	Headers map[string]string `json:"headers" yaml:"headers"` // several values of one header joined by ", "
	Body    string            `json:"body" yaml:"body"`       // the form as sent, "" for a GET
}

// NewDryRequest makes a DryRequest of a request's redacted parts.
func NewDryRequest(method, url string, header http.Header, body string) DryRequest {
	h := make(map[string]string, len(header))
	for k, vs := range header {
		h[k] = strings.Join(vs, ", ")
	}
	return DryRequest{Method: method, URL: url, Headers: h, Body: body}
}

// writeHeaders prints headers in a stable order, each line after prefix.
func writeHeaders(w io.Writer, prefix string, header http.Header) {
	keys := make([]string, 0, len(header))
	for k := range header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range header[k] {
			fmt.Fprintf(w, "%s%s: %s\n", prefix, termsafe.String(k), termsafe.String(v))
		}
	}
}
