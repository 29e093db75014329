package batch

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// The journal's hot records (rows, intents, outcomes) are written and read
// once per row, tens of thousands of times a second in a bulk run, where
// encoding/json's reflection cost about a tenth of cpctl's CPU. These
// appenders write exactly the bytes json.Marshal writes for the same
// structs (codec_test.go holds them to it), and fastRecord reads the flat
// records they write, declining anything else to encoding/json, so the
// journal format and its reading of odd or damaged lines are unchanged.

// appendString appends s as json.Marshal would. Printable ASCII and valid
// UTF-8 (server messages quote names in “curly quotes”) are written here,
// with json.Marshal's HTML-safe escapes; a string with a control
// character, invalid UTF-8 or U+2028/U+2029 is left to encoding/json.
func appendString(b []byte, s string) []byte {
	mark := len(b)
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s[i:])
			if (r == utf8.RuneError && size == 1) || r == '\u2028' || r == '\u2029' {
				q, _ := json.Marshal(s) // a string always marshals
				return append(b[:mark], q...)
			}
			b = append(b, s[i:i+size]...)
			i += size - 1
		case c < 0x20 || c == 0x7f:
			q, _ := json.Marshal(s)
			return append(b[:mark], q...)
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '<':
			b = append(b, `\u003c`...)
		case c == '>':
			b = append(b, `\u003e`...)
		case c == '&':
			b = append(b, `\u0026`...)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

func appendField(b []byte, key string) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	return append(b, '"', ':')
}

func appendStringField(b []byte, key, v string) []byte {
	return appendString(appendField(b, key), v)
}

func appendIntField(b []byte, key string, v int) []byte {
	return strconv.AppendInt(appendField(b, key), int64(v), 10)
}

// appendTime appends t in timeLayout as a JSON string (the layout's output
// never needs escaping).
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, timeLayout)
	return append(b, '"')
}

// appendOmitEmpty appends a string field that json's omitempty leaves out
// when empty.
func appendOmitEmpty(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	return appendStringField(b, key, v)
}

// appendRowFields appends the fields that name a row, shared by its plan
// and outcome records.
func appendRowFields(b []byte, r *Row) []byte {
	b = appendIntField(b, "seq", r.Seq)
	b = appendIntField(b, "line", r.Line)
	b = appendStringField(b, "target", r.Target)
	b = appendOmitEmpty(b, "owner", r.Owner)
	return appendOmitEmpty(b, "profile", r.Profile)
}

// appendRowRec appends the plan record of r, newline included.
func appendRowRec(b []byte, r *Row) []byte {
	b = appendRowFields(append(b, `{"t":"row"`...), r)
	b = appendOmitEmpty(b, "password", r.Password)
	return append(b, '}', '\n')
}

// appendIntentRec appends an intent record, newline included.
func appendIntentRec(b []byte, seq, attempt int, password string, at time.Time) []byte {
	b = append(b, `{"t":"intent"`...)
	b = appendIntField(b, "seq", seq)
	b = appendIntField(b, "attempt", attempt)
	b = appendStringField(b, "password", password)
	b = appendTime(appendField(b, "at"), at)
	return append(b, '}', '\n')
}

// appendOutcomeRec appends the outcome record of attempt at row r,
// newline included.
func appendOutcomeRec(b []byte, r *Row, attempt int, o *Outcome, at time.Time) []byte {
	b = appendRowFields(append(b, `{"t":"outcome"`...), r)
	b = appendIntField(b, "attempt", attempt)
	b = appendField(b, "ok")
	b = strconv.AppendBool(b, o.OK)
	b = appendIntField(b, "exit", o.Exit)
	b = appendOmitEmpty(b, "class", o.Class)
	b = appendOmitEmpty(b, "msg", o.Message)
	if len(o.Services) > 0 {
		b = appendField(b, "services")
		for i, sv := range o.Services {
			b = append(b, "[,"[min(i, 1)])
			b = appendString(b, sv)
		}
		b = append(b, ']')
	}
	if o.Verified != nil {
		b = strconv.AppendBool(appendField(b, "verified"), *o.Verified)
	}
	b = appendTime(appendField(b, "at"), at)
	return append(b, '}', '\n')
}

// decodeRecord fills rec (zeroed by the caller) from one journal line,
// reporting whether the line is a well-formed record. The flat records of
// appendRowRec and friends are read by hand; anything else, including
// any line the hand reader is unsure of, by encoding/json.
func decodeRecord(line []byte, rec *record) bool {
	if fastRecord(line, rec) {
		return true
	}
	*rec = record{}
	return json.Unmarshal(line, rec) == nil
}

// fastRecord reads a flat JSON object of known lowercase keys whose values
// are strings without escapes, integers and booleans, with no white space
// but one trailing newline. It declines (false) anything else, leaving rec
// in any state, and never accepts a line encoding/json would read
// differently or reject.
func fastRecord(line []byte, rec *record) bool {
	n := len(line)
	if n > 0 && line[n-1] == '\n' {
		n--
	}
	if n < 2 || line[0] != '{' || line[n-1] != '}' {
		return false
	}
	p := line[1 : n-1]
	for len(p) > 0 {
		var key []byte
		var ok bool
		if key, p, ok = fastString(p); !ok || len(p) == 0 || p[0] != ':' {
			return false
		}
		p = p[1:]
		if len(p) == 0 {
			return false
		}
		switch p[0] {
		case '"':
			var v []byte
			if v, p, ok = fastString(p); !ok || !setString(rec, key, v) {
				return false
			}
		case 't', 'f':
			var v bool
			switch {
			case len(p) >= 4 && string(p[:4]) == "true":
				v, p = true, p[4:]
			case len(p) >= 5 && string(p[:5]) == "false":
				p = p[5:]
			default:
				return false
			}
			if string(key) != "ok" {
				return false
			}
			rec.OK = v
		default:
			var v int
			if v, p, ok = fastInt(p); !ok || !setInt(rec, key, v) {
				return false
			}
		}
		if len(p) > 0 {
			if p[0] != ',' || len(p) == 1 {
				return false
			}
			p = p[1:]
		}
	}
	return true
}

// fastString reads a JSON string without escapes or control characters,
// in valid UTF-8, from the start of p.
func fastString(p []byte) (s, rest []byte, ok bool) {
	if len(p) == 0 || p[0] != '"' {
		return nil, p, false
	}
	ascii := true
	for i := 1; i < len(p); i++ {
		switch c := p[i]; {
		case c == '"':
			s = p[1:i]
			if !ascii && !utf8.Valid(s) {
				return nil, p, false
			}
			return s, p[i+1:], true
		case c == '\\' || c < 0x20:
			return nil, p, false
		case c >= 0x80:
			ascii = false
		}
	}
	return nil, p, false
}

// fastInt reads a JSON integer of at most 18 digits (so it cannot
// overflow), as JSON writes them: no leading zeros, no plus sign.
func fastInt(p []byte) (v int, rest []byte, ok bool) {
	i, neg := 0, false
	if len(p) > 0 && p[0] == '-' {
		neg, i = true, 1
	}
	start := i
	for i < len(p) && p[i] >= '0' && p[i] <= '9' {
		v = v*10 + int(p[i]-'0')
		i++
	}
	digits := i - start
	if digits == 0 || digits > 18 || (digits > 1 && p[start] == '0') {
		return 0, p, false
	}
	if i < len(p) && (p[i] == '.' || p[i] == 'e' || p[i] == 'E') {
		return 0, p, false
	}
	if neg {
		v = -v
	}
	return v, p[i:], true
}

func setString(rec *record, key, v []byte) bool {
	var dst *string
	switch string(key) {
	case "t":
		dst = &rec.T
	case "kind":
		dst = &rec.Kind
	case "created":
		dst = &rec.Created
	case "target":
		dst = &rec.Target
	case "owner":
		dst = &rec.Owner
	case "profile":
		dst = &rec.Profile
	case "password":
		dst = &rec.Password
	case "class":
		dst = &rec.Class
	case "msg":
		dst = &rec.Msg
	case "at":
		dst = &rec.At
	default:
		return false
	}
	*dst = string(v)
	return true
}

func setInt(rec *record, key []byte, v int) bool {
	switch string(key) {
	case "v":
		rec.V = v
	case "rows":
		rec.Rows = v
	case "seq":
		rec.Seq = v
	case "line":
		rec.Line = v
	case "attempt":
		rec.Attempt = v
	case "exit":
		rec.Exit = v
	default:
		return false
	}
	return true
}
