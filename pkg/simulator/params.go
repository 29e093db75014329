package simulator

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
)

// parseParams fills r.Form with the call's parameters as cpsrvd reads
// them: a body is read by its Content-Length whatever its Content-Type
// (none at all included), multipart/form-data bodies are parsed as forms,
// and the body's values are merged with the query string's, body first.
// Go's ParseForm reads only bodies labelled
// application/x-www-form-urlencoded, which would make the simulator refuse
// clients a real server serves (docs/protocol.md, "Sending a call").
func parseParams(r *http.Request) error {
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return fmt.Errorf("read query string: %w", err)
	}
	body := url.Values{}
	if r.Body != nil && r.Method != http.MethodGet && r.Method != http.MethodHead {
		mt, mparams, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt == "multipart/form-data" && mparams["boundary"] != "" {
			if err := r.ParseMultipartForm(maxBody); err != nil {
				return fmt.Errorf("read multipart body: %w", err)
			}
			body = r.MultipartForm.Value
			// File parts are no parameters; drop any spilled to disk.
			_ = r.MultipartForm.RemoveAll()
		} else {
			raw, err := io.ReadAll(r.Body)
			if err != nil {
				return fmt.Errorf("read body: %w", err)
			}
			if body, err = url.ParseQuery(string(raw)); err != nil {
				return fmt.Errorf("read form body: %w", err)
			}
		}
	}
	form := make(url.Values, len(body)+len(query))
	for k, vs := range body {
		form[k] = append(form[k], vs...)
	}
	for k, vs := range query {
		form[k] = append(form[k], vs...)
	}
	r.Form, r.PostForm = form, body
	return nil
}
