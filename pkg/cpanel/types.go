package cpanel

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// Kind is the kind of server a client talks to.
type Kind string

// Server kinds.
const (
	// KindWHM is a WHM endpoint (ports 2087/2086), used with root or reseller credentials.
	KindWHM Kind = "whm"
	// KindCPanel is a cPanel endpoint (ports 2083/2082), used with one account's own credentials.
	KindCPanel Kind = "cpanel"
)

// AuthMethod says how a client authenticates.
type AuthMethod string

// Authentication methods.
const (
	// AuthToken sends "Authorization: whm USER:TOKEN" or "cpanel USER:TOKEN".
	AuthToken AuthMethod = "token"
	// AuthPassword sends HTTP Basic authentication.
	AuthPassword AuthMethod = "password"
	// AuthAccessHash sends the legacy "Authorization: WHM USER:HASH" (WHM only).
	AuthAccessHash AuthMethod = "accesshash"
	// AuthSession logs in once through /login/ and then uses the cpsess token and cookie.
	AuthSession AuthMethod = "session"
)

// Config describes one server connection. The zero value of each optional field picks the default.
type Config struct {
	// URL is the server's base URL, e.g. https://host:2087; it may carry a path prefix.
	URL string
	// Kind is the server kind; empty means infer it from URL (see InferKind).
	Kind Kind
	// Auth is the authentication method; empty means AuthToken.
	Auth AuthMethod
	// User is the login name.
	User string
	// Secret is the token, password or access hash, depending on Auth.
	Secret string
	// OTP, when set, supplies a two-factor code: sent as X-CPANEL-OTP on token and Basic calls
	// and as tfa_token on a session login. It is called for every request, so it should be cheap.
	OTP func(ctx context.Context) (string, error)
	// CAFile names a PEM file of extra trusted certificate authorities.
	CAFile string
	// Insecure turns certificate verification off.
	Insecure bool
	// Fingerprint pins the server's leaf certificate ("sha256:<hex>"; colons and case tolerated).
	// When set, a matching certificate is accepted even if self-signed and any other is refused.
	Fingerprint string
	// Timeout bounds each request attempt, from connecting to reading the last byte of the
	// reply; 0 means 2 minutes.
	Timeout time.Duration
	// MaxConns is how many idle keep-alive connections to the server are kept for reuse; 0
	// means 16. Callers that run calls in parallel set it to their concurrency.
	MaxConns int
	// MaxRetries is how many times a request is retried on 502/503/504 or on a connection
	// failure before the request was sent (never more than 2 times for connection
	// failures); 0 means 2 and -1 means never. Waits back off
	// exponentially with jitter, or follow Retry-After (capped at Timeout); a wait that would
	// pass the context's deadline is not taken and the last failure is returned at once.
	MaxRetries int
	// Logger, when set, receives every request the client puts on the wire (each retry, login
	// and logout too) and its reply, once, with all secrets already redacted. The client then
	// reads each reply ahead to log it; without a Logger nothing of this runs.
	Logger func(Exchange)
	// Transport overrides the client's own transport (tests); TLS options are then ignored.
	Transport http.RoundTripper
	// WrapTransport, when set, wraps the transport the client uses (its own or Transport), so
	// a caller can see every HTTP request, e.g. to pace a bulk run to the server.
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// UserAgent is sent as User-Agent; empty means "cpctl".
	UserAgent string
}

// Exchange is one request and its reply as given to Config.Logger, as the transport sent and
// received them; Err is the transport's own error, or why the reply could not be read. Every
// secret in it (passwords, tokens, cookies, cpsess tokens, two-factor codes) is already replaced
// with "<redacted>". Duration leaves out the wait for a slot of Config.WrapTransport's pacer
// (not its wait for room to dial a connection, which comes after the request asked for one).
type Exchange struct {
	Method         string
	URL            string
	RequestHeader  http.Header
	RequestBody    string
	Status         int
	ResponseHeader http.Header
	ResponseBody   string
	Duration       time.Duration
	Err            error
}

// API names one of the server's APIs.
type API string

// The server's APIs.
const (
	// WHMAPI1 is WHM API 1 (/json-api/FUNCTION?api.version=1).
	WHMAPI1 API = "whmapi1"
	// WHMAPI0 is the legacy WHM API 0 (/json-api/FUNCTION or /xml-api/FUNCTION).
	WHMAPI0 API = "whmapi0"
	// CPAPI2 is cPanel API 2 (/json-api/cpanel).
	CPAPI2 API = "cpapi2"
	// UAPI is cPanel's UAPI (/execute/MODULE/FUNCTION, or through WHM).
	UAPI API = "uapi"
)

// Param is one form parameter. Secret marks a value that must never be logged or previewed;
// parameters named password, pass, newpass, oldpass, token or tfa_token are always secret.
type Param struct {
	Key    string
	Value  string
	Secret bool
}

// Request is one API call.
type Request struct {
	// API selects the API; Module is ignored for WHM APIs.
	API      API
	Module   string
	Function string
	// User is the cPanel account when calling cPanel API 2 or UAPI through WHM
	// (cpanel_jsonapi_user, or cpanel.user with ViaUAPICpanel).
	User   string
	Params []Param
	// ViaUAPICpanel sends UAPI through WHM with WHM API 1 uapi_cpanel instead of apiversion 3.
	ViaUAPICpanel bool
	// XML sends a WHM API 0 call to /xml-api/ instead of /json-api/.
	XML bool
	// Idempotent marks a call that is safe to run twice (a read, or setting a given password).
	// Only such a call is sent again after a gateway's 502 or 504, which may come after the call
	// ran behind the gateway. A request that may have been written is otherwise never resent.
	Idempotent bool
}

// Reply is what the server answered. A secret of the request or of the login that the server
// echoed back is already "<redacted>" in Body and Decoded, in every encoding.
type Reply struct {
	Status      int
	ContentType string
	Body        []byte
	// Decoded is the body as generic JSON (numbers as json.Number), or nil when it is not JSON.
	Decoded any

	header http.Header // kept for Retry-After
}

// Preview is the request Call would send, for --dry-run. Secrets are already "<redacted>".
type Preview struct {
	Method string
	URL    string
	Header http.Header
	Form   []Param
}

// Result is the outcome of one password change or similar call.
type Result struct {
	OK       bool
	API      API
	Function string
	// Services lists the services whose password changed (system, ftp, mail, MySQL, ...).
	Services []string
	// Message is the server's own message (reason, statusmsg, statustxt or first error).
	Message string
	// Raw is the reply body when it was JSON.
	Raw json.RawMessage
}

// AccountPasswdOptions holds the optional parameters of WHM passwd. A nil field is left out,
// so the server uses its default (db_pass_update) or keeps the current setting (digest).
type AccountPasswdOptions struct {
	DBPassUpdate *bool
	Digest       *bool
}

// ChangeOwnOptions holds the optional parameters of cPanel API 2 Passwd::change_password.
type ChangeOwnOptions struct {
	EnableMySQL bool
	Digest      *bool
}

// CertInfo describes a server certificate.
type CertInfo struct {
	// Fingerprint is "sha256:<64 lowercase hex>" of the leaf certificate.
	Fingerprint string
	Subject     string
	Issuer      string
	NotAfter    time.Time
	SelfSigned  bool
	// Trusted says whether the system roots (and the extra CA file) verify it for the host.
	Trusted bool
}
