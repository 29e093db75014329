package simulator

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cpctl/cpctl/pkg/secret/totp"
)

// session is a cookie login; the cpsess token and the cookie must both match.
type session struct {
	id      identity
	role    Role
	cookie  string
	expires time.Time
}

const cookieName = "cpsession"

func secureEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func hasToken(l *Login, token string) bool {
	ok := false
	for _, t := range l.Tokens {
		// No early exit, so timing does not say which token matched.
		if secureEqual(t, token) {
			ok = true
		}
	}
	return ok
}

// lookup returns the credentials a role accepts for user; callers hold mu.
func (s *Simulator) lookup(role Role, user string) (*Login, identity, bool) {
	if role == RoleWHM {
		if user == "root" {
			return &s.st.Root, identity{user: user, kind: kindRoot}, true
		}
		if l, ok := s.st.Resellers[user]; ok {
			return l, identity{user: user, kind: kindReseller}, true
		}
		return nil, identity{}, false
	}
	a, ok := s.st.Accounts[user]
	if !ok || a.Suspended {
		return nil, identity{}, false
	}
	return &a.Login, identity{user: user, kind: kindAccount}, true
}

// tfaOK checks a two-factor code when the login has a secret.
func (s *Simulator) tfaOK(l *Login, code string) bool {
	if l.TFASecret == "" {
		return true
	}
	key, err := totp.DecodeSecret(l.TFASecret)
	if err != nil || code == "" {
		return false
	}
	return totp.Valid(key, code, s.now())
}

// authenticate returns the caller, or the reply a real server sends instead.
func (h *handler) authenticate(r *http.Request, sessToken string) (identity, *reply) {
	s := h.sim
	hdr := r.Header.Get("Authorization")
	if hdr == "" {
		return h.sessionAuth(r, sessToken)
	}
	if sessToken != "" && !h.sessionExists(sessToken) {
		// A security token in the path is checked whatever else the
		// request carries: a wrong or expired one is refused.
		rep := tokenPage(tokenInvalidMsg)
		return identity{}, &rep
	}
	scheme, cred, _ := strings.Cut(strings.TrimSpace(hdr), " ")
	cred = strings.TrimSpace(cred)
	deny := accessDenied()

	var user, secret string
	method := strings.ToLower(scheme)
	switch method {
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			return identity{}, &deny
		}
		var ok bool
		user, secret, ok = strings.Cut(string(raw), ":")
		if !ok {
			return identity{}, &deny
		}
	case "whm", "cpanel":
		var ok bool
		user, secret, ok = strings.Cut(cred, ":")
		if !ok {
			return identity{}, &deny
		}
	default:
		return identity{}, &deny
	}
	if method == "cpanel" && h.role == RoleWHM {
		// docs/protocol.md: a cPanel API token cannot call WHM API 1 at all.
		rep := tokenOnly()
		return identity{}, &rep
	}
	if method == "whm" && h.role == RoleCPanel {
		return identity{}, &deny
	}

	s.mu.RLock()
	l, id, ok := s.lookup(h.role, user)
	valid := false
	if ok {
		switch method {
		case "basic":
			valid = VerifyHash(l.PasswordHash, secret)
			id.method = "basic"
		case "cpanel":
			valid = h.tokenOK(l, secret, r.RemoteAddr)
			id.method = "cpaneltoken"
		case "whm":
			// One scheme carries both tokens and legacy access hashes; the
			// hash is sent with its line breaks, which the server drops.
			clean := stripCRLF(secret)
			if h.tokenOK(l, clean, r.RemoteAddr) {
				valid, id.method = true, "whmtoken"
			} else if l.AccessHash != "" {
				stored := stripCRLF(l.AccessHash)
				valid, id.method = secureEqual(stored, clean), "accesshash"
			}
		}
	}
	tfa := valid && s.tfaOK(l, r.Header.Get("X-CPANEL-OTP"))
	s.mu.RUnlock()
	if !valid {
		return identity{}, &deny
	}
	if !tfa {
		rep := tfaFailed()
		return identity{}, &rep
	}
	return id, nil
}

// sessionExists reports whether the cpsess token names a live session of
// this port.
func (h *handler) sessionExists(token string) bool {
	s := h.sim
	s.sessMu.Lock()
	defer s.sessMu.Unlock()
	sess, ok := s.sessions[token]
	return ok && sess.role == h.role && s.now().Before(sess.expires)
}

func (h *handler) sessionAuth(r *http.Request, sessToken string) (identity, *reply) {
	if sessToken == "" {
		if _, err := r.Cookie(cookieName); err == nil {
			rep := tokenPage(tokenMissingMsg)
			return identity{}, &rep
		}
		// A browser without a session is sent the login page with 401.
		rep := loginPage(h.role, 401, "")
		return identity{}, &rep
	}
	s := h.sim
	c, err := r.Cookie(cookieName)
	s.sessMu.Lock()
	defer s.sessMu.Unlock()
	sess, ok := s.sessions[sessToken]
	now := s.now()
	if !ok || err != nil || sess.role != h.role || !secureEqual(sess.cookie, c.Value) || !now.Before(sess.expires) {
		if ok && !now.Before(sess.expires) {
			delete(s.sessions, sessToken)
		}
		rep := tokenPage(tokenInvalidMsg)
		return identity{}, &rep
	}
	// Sessions expire after idling, not after a fixed lifetime.
	sess.expires = now.Add(s.sessionTTL())
	return sess.id, nil
}

func randomDigits(n int) string {
	var b strings.Builder
	ten := big.NewInt(10)
	for i := 0; i < n; i++ {
		d, err := rand.Int(rand.Reader, ten)
		if err != nil {
			d = big.NewInt(int64(i % 10))
		}
		b.WriteByte(byte('0' + d.Int64()))
	}
	return b.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// login answers a form login: JSON with login_only, else a redirect into
// the session (the HTML login page again when the login fails). Both
// successful answers carry the session path in Location, where cPanel's
// own clients look for it.
func (h *handler) login(r *http.Request, loginOnly bool) reply {
	s := h.sim
	s.countFunction("login")
	user, pass := r.Form.Get("user"), r.Form.Get("pass")
	s.mu.RLock()
	l, id, ok := s.lookup(h.role, user)
	valid := ok && pass != "" && VerifyHash(l.PasswordHash, pass)
	tfa := valid && s.tfaOK(l, r.Form.Get("tfa_token"))
	s.mu.RUnlock()
	if !valid {
		if !loginOnly {
			return loginPage(h.role, 401, "invalid_login")
		}
		return reply{status: 401, ctype: ctJSON, body: invalidLogin}
	}
	if !tfa {
		return tfaFailed()
	}
	id.method = "session"
	sess := &session{id: id, role: h.role, cookie: url.QueryEscape(user + ":" + randomHex(16)), expires: s.now().Add(s.sessionTTL())}
	var token string
	s.sessMu.Lock()
	for {
		token = randomDigits(10)
		if _, taken := s.sessions[token]; !taken {
			break
		}
	}
	s.sessions[token] = sess
	s.sessMu.Unlock()

	redirect := "/cpsess" + token + "/scripts/command?PFILE=main"
	if h.role == RoleCPanel {
		redirect = "/cpsess" + token + "/frontend/jupiter/index.html"
	}
	body := marshalJSON(struct {
		Status        int      `json:"status"`
		SecurityToken string   `json:"security_token"`
		Redirect      string   `json:"redirect"`
		Notices       []string `json:"notices"`
	}{1, "/cpsess" + token, redirect, []string{}})
	cookie := cookieName + "=" + sess.cookie + "; HttpOnly; path=/"
	if r.TLS != nil {
		cookie += "; Secure"
	}
	headers := map[string]string{"Set-Cookie": cookie, "Location": redirect}
	if !loginOnly {
		return reply{status: http.StatusMovedPermanently, ctype: ctHTML, headers: headers,
			body: htmlPage("Moved", "This page has moved to <a href=\""+redirect+"\">"+redirect+"</a>.")}
	}
	return reply{status: 200, ctype: ctJSON, body: body, headers: headers}
}

// logout ends the session named by the cpsess token or the cookie.
func (h *handler) logout(r *http.Request, sessToken string) reply {
	s := h.sim
	s.countFunction("logout")
	c, cerr := r.Cookie(cookieName)
	s.sessMu.Lock()
	if sessToken != "" {
		if sess, ok := s.sessions[sessToken]; ok && cerr == nil && secureEqual(sess.cookie, c.Value) {
			delete(s.sessions, sessToken)
		}
	} else if cerr == nil {
		for tok, sess := range s.sessions {
			if secureEqual(sess.cookie, c.Value) {
				delete(s.sessions, tok)
			}
		}
	}
	s.sessMu.Unlock()
	rep := loginPage(h.role, 200, "logged_out")
	rep.headers = map[string]string{"Set-Cookie": cookieName + "=closed; HttpOnly; path=/; expires=Thu, 01-Jan-1970 00:00:01 GMT"}
	return rep
}

// stripCRLF drops line breaks, which legacy access hashes carry.
func stripCRLF(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
}
