package simulator

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
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

// refused is authenticate's answer for a caller it turns away.
func refused(rep reply) (identity, *reply) { return identity{}, &rep }

// credentials reads an Authorization header: its scheme in lower case,
// the user and the secret; ok is false when it cannot be read.
func credentials(hdr string) (method, user, secret string, ok bool) {
	scheme, cred, _ := strings.Cut(strings.TrimSpace(hdr), " ")
	cred = strings.TrimSpace(cred)
	method = strings.ToLower(scheme)
	switch method {
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			return method, "", "", false
		}
		cred = string(raw)
	case "whm", "cpanel":
	default:
		return method, "", "", false
	}
	user, secret, ok = strings.Cut(cred, ":")
	return method, user, secret, ok
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
		return refused(tokenPage(tokenInvalidMsg))
	}
	method, user, secret, ok := credentials(hdr)
	switch {
	case !ok, method == "whm" && h.role == RoleCPanel:
		return refused(accessDenied())
	case method == "cpanel" && h.role == RoleWHM:
		// docs/protocol.md: a cPanel API token cannot call WHM API 1 at all.
		return refused(tokenOnly())
	}

	s.mu.RLock()
	l, id, ok := s.lookup(h.role, user)
	valid := false
	if ok {
		switch method {
		case "basic":
			valid = VerifyHash(l.PasswordHash, secret)
		case "cpanel":
			valid, id.cpanelToken = s.tokenWorks(l, secret, r.RemoteAddr), true
		case "whm":
			// One scheme carries both tokens and legacy access hashes; the
			// hash is sent with its line breaks, which the server drops.
			clean := crlfStripper.Replace(secret)
			valid = s.tokenWorks(l, clean, r.RemoteAddr) ||
				(l.AccessHash != "" && secureEqual(crlfStripper.Replace(l.AccessHash), clean))
		}
	}
	tfa := valid && s.tfaOK(l, r.Header.Get("X-CPANEL-OTP"))
	s.mu.RUnlock()
	if !valid {
		return refused(accessDenied())
	}
	if !tfa {
		return refused(tfaFailed())
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
			return refused(tokenPage(tokenMissingMsg))
		}
		// A browser without a session is sent the login page with 401.
		return refused(loginPage(h.role, 401, ""))
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
		return refused(tokenPage(tokenInvalidMsg))
	}
	// Sessions expire after idling, not after a fixed lifetime.
	sess.expires = now.Add(s.sessionTTL())
	return sess.id, nil
}

// randomString returns n characters drawn uniformly from alphabet.
func randomString(alphabet string, n int) string {
	size := big.NewInt(int64(len(alphabet)))
	b := make([]byte, n)
	for i := range b {
		d, err := rand.Int(rand.Reader, size)
		if err != nil {
			// crypto/rand does not fail on supported platforms.
			panic("simulator: crypto/rand: " + err.Error())
		}
		b[i] = alphabet[d.Int64()]
	}
	return string(b)
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
	sess := &session{id: id, role: h.role, cookie: url.QueryEscape(user + ":" + randomString("0123456789abcdef", 32)), expires: s.now().Add(s.sessionTTL())}
	var token string
	s.sessMu.Lock()
	for {
		token = randomString("0123456789", 10)
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

// crlfStripper drops line breaks, which legacy access hashes carry.
var crlfStripper = strings.NewReplacer("\r", "", "\n", "")
