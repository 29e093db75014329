// Package simulator is a stateful emulator of cPanel & WHM for tests, the
// demo and benchmarks. It speaks the wire protocol of docs/protocol.md with the
// real envelopes, status codes, content types and messages, and is never
// more forgiving than a real server.
//
// # Roles and authentication
//
// Handler(RoleWHM) plays port 2087 (root and resellers) and
// Handler(RoleCPanel) port 2083 (an account's own user). One Authorization
// header authenticates a call, its scheme matched case-insensitively:
// "whm USER:TOKEN" or the legacy "WHM USER:ACCESSHASH" (WHM only; CR/LF in
// the hash ignored), "cpanel USER:TOKEN" (cPanel only, and only for
// /execute/... and /json-api/cpanel), and "Basic" on both. Sessions log in
// with POST /login/?login_only=1 and call /cpsessNNNNNNNNNN/... with the
// cpsession cookie. Users with a tfa-secret need X-CPANEL-OTP (header auth)
// or tfa_token (login). Choices where the protocol notes are silent: a call
// with no credentials at all answers 401 with the HTML login page; an
// unknown scheme, or a whm scheme on the cPanel role, answers the 403
// "Access denied" body; WHM API paths on the cPanel role answer the same
// 403; the token-only and two-factor refusals are 403 text/plain. A login
// answers JSON to a POST with login_only=1 and a 301 redirect into the
// session to a form POST without it, both with the session path in
// Location; no login works by GET. A cpsess token in the path
// is checked even when a header authenticates the call; a cPanel token gets
// the token-only 403 for anything but API 2 and UAPI.
//
// Messages invented because the protocol notes give none (check them
// against a real server): an unknown function in API 2, UAPI and API 0; an
// unsupported cpanel_jsonapi_apiversion; a wrong old password. Choices not
// confirmed against a server: the login redirect's status (301) and its
// path after the session token; Passwd::change_password checks reuse of the
// old password before it checks the old password itself.
//
// Parameters are read from the query string and from a POST body of any
// Content-Type (none, urlencoded or multipart/form-data), as cpsrvd does.
//
// # Endpoints
//
// WHM: /json-api/FUNC?api.version=1 (passwd, version, listaccts,
// getminimumpasswordstrengths, uapi_cpanel; anything else answers
// metadata.result 0), WHM API 0 /json-api/passwd and /xml-api/passwd, and
// /json-api/cpanel (cPanel API 2 with cpanel_jsonapi_apiversion=2, UAPI
// with 3) acting on cpanel_jsonapi_user. cPanel: /json-api/cpanel (API 2
// Passwd::change_password, Ftp::passwd, Email::passwdpop) and
// /execute/MODULE/FUNC (Ftp/passwd, Email/passwd_pop, Email/verify_password,
// PasswdStrength/get_required_strength, Variables/get_user_information).
// Parameters come from the query string and a form body alike; a secret in
// a query string works, as on a server, but is counted in
// Stats.SecretInQuery.
//
// # Faults
//
// SetFault (or an account's fault in the state) injects latency, 500, 502,
// 503 with Retry-After, a reset connection, a truncated body, a login page
// or a security-token page into API calls. Reset and truncation happen
// after the call ran, so a client meets a change whose outcome it cannot
// see; the others replace the call.
//
// # State file (YAML)
//
//	hostname: server.example.com
//	minimum-strengths:         # app -> 0..100: passwd, virtual (ftp, pop,
//	  passwd: 50               # webdisk), ftp, list, mysql, postgres,
//	  virtual: 50              # sshkey, createacct; fallback default
//	  default: 50
//	root:
//	  password: secret         # plaintext accepted on load, hashed at once
//	  password-hash: sha256$salt$hex   # what a dump writes instead
//	  tokens: [ROOTTOKEN0123456789ABCDEFGHIJKLM]   # 32 chars of A-Z0-9
//	  accesshash: ...          # optional legacy access hash
//	  tfa-secret: JBSWY3DPEHPK3PXP     # optional base32 TOTP secret
//	resellers:
//	  res1: {password: ..., tokens: [...]}         # same fields as root
//	accounts:
//	  bob:
//	    owner: root            # root or a reseller (default root)
//	    domain: bob.example
//	    suspended: false
//	    digest-auth: false
//	    password: ...          # or password-hash
//	    tokens: [...]          # cPanel API tokens
//	    tfa-secret: ...
//	    ftp:  [{user: files, domain: bob.example, password: ...}]
//	    mail: [{address: info@bob.example, password: ...}]
//	    password-changes: 0          # counters kept by the simulator
//	    mysql-password-changes: 0    # db_pass_update / enablemysql
//	    fault: {kind: "503", count: 1, retry-after: 2s}
//
// Fault kinds are none, latency, 500, 502, 503, reset, truncated,
// login-page, token-denied and stale (success reply, old password kept). A dump never holds a plaintext password.
package simulator
