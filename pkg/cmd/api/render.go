package api

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/cpctl/cpctl/pkg/output"
)

// Format is an output format of the server-side tools.
type Format string

// The formats whmapi1, cpapi2 and uapi accept.
const (
	JSON       Format = "json"
	JSONPretty Format = "jsonpretty"
	YAML       Format = "yaml"
	XML        Format = "xml"
)

// ParseFormat accepts the server tools' --output values.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case JSON, JSONPretty, YAML, XML:
		return f, nil
	}
	return "", fmt.Errorf("output format %q: want json, jsonpretty, yaml or xml", s)
}

// Render writes a JSON reply body in the format: JSON as it came,
// jsonpretty re-indented, YAML and XML re-encoded with the keys in the
// server's order.
func Render(w io.Writer, f Format, body []byte) error {
	var out []byte
	switch f {
	case JSON:
		out = append(bytes.TrimRight(body, " \t\r\n"), '\n')
	case JSONPretty:
		var buf bytes.Buffer
		if err := json.Indent(&buf, bytes.TrimSpace(body), "", "   "); err != nil {
			return fmt.Errorf("re-indent reply: %w", err)
		}
		buf.WriteByte('\n')
		out = buf.Bytes()
	case YAML:
		n, err := jsonToNode(body)
		if err != nil {
			return err
		}
		return writeYAML(w, n)
	case XML:
		n, err := jsonToNode(body)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		buf.WriteString(xml.Header)
		writeXML(&buf, "result", nil, n, 0)
		out = buf.Bytes()
	default:
		return fmt.Errorf("unknown output format %q", f)
	}
	_, err := w.Write(out)
	return err
}

// renderValue writes v in the format as Render writes a reply, v encoded as
// JSON first: the JSON forms are then the encoding itself, and YAML and XML
// keep its order of keys.
func renderValue(w io.Writer, f Format, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // a reply as the server sent it, "<redacted>" as it reads
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	return Render(w, f, buf.Bytes())
}

// writeYAML writes one document with the "---" start line the server's
// YAML output has, in the YAML style of cpctl's other commands.
func writeYAML(w io.Writer, n *yaml.Node) error {
	if _, err := io.WriteString(w, "---\n"); err != nil {
		return err
	}
	return output.New(output.YAML, w, false).Value(n)
}

// jsonToNode decodes JSON into a YAML node tree, which keeps the order of
// object keys (a Go map would not) and the exact text of numbers.
func jsonToNode(body []byte) (*yaml.Node, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	n, err := decodeNode(dec)
	if err != nil {
		return nil, fmt.Errorf("decode reply: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("decode reply: trailing data after the JSON value")
	}
	return n, nil
}

func decodeNode(dec *json.Decoder) (*yaml.Node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		if t != '{' && t != '[' {
			return nil, fmt.Errorf("unexpected %v", t)
		}
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		if t == '{' {
			n.Kind, n.Tag = yaml.MappingNode, "!!map"
		}
		for dec.More() {
			if n.Kind == yaml.MappingNode {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, _ := kt.(string)
				n.Content = append(n.Content, strNode(key))
			}
			v, err := decodeNode(dec)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, v)
		}
		if _, err := dec.Token(); err != nil { // the closing } or ]
			return nil, err
		}
		if len(n.Content) == 0 {
			n.Style = yaml.FlowStyle
		}
		return n, nil
	case string:
		return strNode(t), nil
	case json.Number:
		tag := "!!int"
		if strings.ContainsAny(string(t), ".eE") {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: string(t)}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(t)}, nil
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "~"}, nil
	}
	return nil, fmt.Errorf("unexpected token %v", tok)
}

func strNode(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if strings.Contains(s, "\n") {
		n.Style = yaml.LiteralStyle
	}
	return n
}

// writeXML renders a node as element name, the way the server's XML output
// nests data: an object's keys become child elements, an array repeats its
// element, null is an empty element. A key that is not a valid element
// name becomes <item key="...">.
func writeXML(buf *bytes.Buffer, name string, attrs [][2]string, n *yaml.Node, depth int) {
	if n.Kind == yaml.SequenceNode && depth > 0 {
		for _, c := range n.Content {
			if c.Kind == yaml.SequenceNode {
				// An array inside an array needs its own element.
				writeXML(buf, name, attrs, &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{strNode("item"), c}}, depth)
				continue
			}
			writeXML(buf, name, attrs, c, depth)
		}
		return
	}
	// The start tag, left open for what follows.
	indent := strings.Repeat("  ", depth)
	buf.WriteString(indent + "<" + name)
	for _, a := range attrs {
		buf.WriteString(" " + a[0] + `="`)
		_ = xml.EscapeText(buf, []byte(a[1]))
		buf.WriteByte('"')
	}
	switch {
	case n.Kind == yaml.MappingNode && len(n.Content) == 0, n.Kind == yaml.ScalarNode && n.Tag == "!!null":
		buf.WriteString("/>\n")
	case n.Kind == yaml.MappingNode:
		buf.WriteString(">\n")
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i].Value, n.Content[i+1]
			if validXMLName(k) {
				writeXML(buf, k, nil, v, depth+1)
			} else {
				writeXML(buf, "item", [][2]string{{"key", k}}, v, depth+1)
			}
		}
		buf.WriteString(indent + "</" + name + ">\n")
	case n.Kind == yaml.SequenceNode:
		// Only at the top: a reply that is a bare array.
		buf.WriteString(">\n")
		writeXML(buf, "item", nil, n, depth+1)
		buf.WriteString(indent + "</" + name + ">\n")
	default:
		buf.WriteByte('>')
		_ = xml.EscapeText(buf, []byte(n.Value))
		buf.WriteString("</" + name + ">\n")
	}
}

// validXMLName accepts the conservative ASCII subset of XML names.
func validXMLName(s string) bool {
	if s == "" || strings.HasPrefix(strings.ToLower(s), "xml") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
		if i == 0 && !letter {
			return false
		}
		if !letter && !(c >= '0' && c <= '9') && c != '-' && c != '.' {
			return false
		}
	}
	return true
}
