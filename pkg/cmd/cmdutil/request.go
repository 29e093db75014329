package cmdutil

import (
	"fmt"
	"github.com/cpctl/cpctl/pkg/termsafe"
	"io"
	"net/http"
	"sort"
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
