// Package cpanel is the cpctl API client: one Client speaks WHM API 1, WHM API 0 (JSON and XML),
// cPanel API 2 and UAPI, directly or through WHM, with API token, password, access hash or session
// authentication. It knows nothing about the terminal or command-line flags.
//
// Every call is a POST with a form body, so passwords never reach a URL or a server access log.
// Only an API's documented success marker is a success (docs/protocol.md). Failures come back as
// *Error, whose Kind is the exit code the CLI should use and whose Written field says whether the
// call may have reached the server; StateOf turns any returned error into the row state
// (applied, refused, not-sent or unknown).
package cpanel
