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
	// Profile names the server the request is for when a dry run covers
	// several (a mirror command's --all-profiles); "" for one server.
	Profile string            `json:"profile,omitempty" yaml:"profile,omitempty"`
	Method  string            `json:"method" yaml:"method"`
	URL     string            `json:"url" yaml:"url"`
	Headers map[string]string `json:"headers" yaml:"headers"` // several values of one header joined by ", "
	Body    string            `json:"body" yaml:"body"`       // the form as sent, "" for a GET

	// header is Headers as the request has them, one line per value in
	// the HTTP text form.
	header http.Header
}

// NewDryRequest makes a DryRequest of a request's redacted parts.
func NewDryRequest(method, url string, header http.Header, body string) DryRequest {
	h := make(map[string]string, len(header))
	for k, vs := range header {
		h[k] = strings.Join(vs, ", ")
	}
	return DryRequest{Method: method, URL: url, Headers: h, Body: body, header: header}
}

// WriteDryRun prints the requests a dry run stopped. With print nil, the
// default, they are HTTP text (WriteRequest), each after a "# profile NAME"
// line when it names its profile, and those apart by a blank line. Else
// print gets the whole list to write in the format the user asked for
// (-o json, yaml, ...), so that stdout is in that format whatever went
// wrong: an empty list when no request is left to show.
func WriteDryRun(w io.Writer, reqs []DryRequest, print func(any) error) error {
	if print != nil {
		if reqs == nil {
			reqs = []DryRequest{} // [], not null
		}
		return print(reqs)
	}
	for i, r := range reqs {
		if r.Profile != "" {
			if i > 0 {
				fmt.Fprintln(w)
			}
			fmt.Fprintf(w, "# profile %s\n", r.Profile)
		}
		WriteRequest(w, r.Method, r.URL, r.header, r.Body)
	}
	return nil
}

// DryRunSecret stands in for a profile's missing secret in a dry run, which
// needs no credentials since it sends nothing, while the client wants one.
// The -v log and the redaction hide any value that holds the client's own
// secret; one character is shorter than any secret they hide, so the
// stand-in hides nothing of the preview (a word such as "unset" hid the
// account "sunset").
const DryRunSecret = "-"

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
