// Package simulator is a stateful emulator of cPanel & WHM for tests, the
// demo and benchmarks. It speaks the wire protocol of docs/protocol.md with the
// real envelopes, status codes, content types and messages, and is never
// more forgiving than a real server. docs/simulator.md describes what it
// serves, its state file (YAML), its faults and its use in Go tests.
//
// Handler(RoleWHM) plays port 2087 (root and resellers) and
// Handler(RoleCPanel) port 2083 (an account's own user); Start serves both
// on loopback listeners.
//
// Choices where the protocol notes are silent: a call with no credentials
// at all answers 401 with the HTML login page; an unknown scheme, or a whm
// scheme on the cPanel role, answers the 403 "Access denied" body; WHM API
// paths on the cPanel role answer the same 403; the token-only and
// two-factor refusals are 403 text/plain. A cpsess token in the path is
// checked even when a header authenticates the call.
//
// Messages invented because the protocol notes give none (check them
// against a real server): an unknown function in API 2, UAPI and API 0; an
// unsupported cpanel_jsonapi_apiversion; a wrong old password. Choices not
// confirmed against a server: the login redirect's status (301) and its
// path after the session token; Passwd::change_password checks reuse of the
// old password before it checks the old password itself.
package simulator
