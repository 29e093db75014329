package output

import (
	"bytes"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/olekukonko/tablewriter/pkg/twwidth"
)

// A boxed table costs three columns per cell ("│ " before, " " after) and
// one for the closing "│".
func boxOverhead(cols int) int { return 3*cols + 1 }

// minCell is the narrowest a shrinkable column gets before the table gives
// up on a box: narrower, a message wraps into more lines than it has words.
// Beside a kept column (a password), the others keep minBeside: a message
// in a dozen columns reads worse than a password on a line of its own.
const (
	minCell   = 12
	minBeside = 24
)

// grid is a table to draw: every row has a cell for each header, already
// made safe for a terminal.
// keep marks the columns that are never wrapped or cut (a generated
// password): when they cannot fit, they leave the box for lines of their
// own, labelled by the row's label column.
type grid struct {
	headers []string
	rows    [][]string
	keep    []bool
	label   int // column naming a row when a kept cell leaves the box
}

// render draws g for a terminal of the given width; width <= 0 means
// unknown, and the table takes the width it needs.
func (g grid) render(b *bytes.Buffer, width int) {
	nat := g.natural()
	if width <= 0 || sum(nat)+boxOverhead(len(nat)) <= width {
		drawBox(b, g.headers, g.rows, nat)
		return
	}
	keeps := slices.Contains(g.keep, true)
	floor := minCell
	if keeps {
		floor = minBeside
	}
	if w, ok := g.shrink(nat, width, floor); ok {
		drawBox(b, g.headers, g.rows, w)
		return
	}
	// Without the kept columns the rest may fit; the kept cells then go
	// below the box, each whole on a line of its own.
	if keeps {
		sub := g.withoutKept()
		if w, ok := sub.shrink(sub.natural(), width, minCell); ok {
			drawBox(b, sub.headers, sub.rows, w)
			g.keptLines(b)
			return
		}
	}
	g.vertical(b, width)
}

// natural returns each column's width without wrapping.
func (g grid) natural() []int {
	w := make([]int, len(g.headers))
	for i, h := range g.headers {
		w[i] = twwidth.Width(h)
	}
	for _, r := range g.rows {
		for i, c := range r {
			w[i] = max(w[i], twwidth.Width(c))
		}
	}
	return w
}

// shrink narrows the widest shrinkable columns, one column at a time, until
// the box fits width, and reports whether it could without narrowing any
// below floor (or its header).
func (g grid) shrink(nat []int, width, floor int) ([]int, bool) {
	w := append([]int(nil), nat...)
	low := make([]int, len(w))
	for i := range w {
		low[i] = w[i]
		if !g.kept(i) {
			low[i] = min(nat[i], max(twwidth.Width(g.headers[i]), floor))
		}
	}
	need := sum(w) + boxOverhead(len(w)) - width
	for need > 0 {
		widest := -1
		for i := range w {
			if w[i] > low[i] && (widest < 0 || w[i] > w[widest]) {
				widest = i
			}
		}
		if widest < 0 {
			return nil, false
		}
		w[widest]--
		need--
	}
	return w, true
}

func (g grid) kept(i int) bool { return i < len(g.keep) && g.keep[i] }

// withoutKept returns g without its kept columns.
func (g grid) withoutKept() grid {
	var out grid
	for i, h := range g.headers {
		if !g.kept(i) {
			out.headers = append(out.headers, h)
		}
	}
	out.rows = make([][]string, len(g.rows))
	for j, r := range g.rows {
		for i, c := range r {
			if !g.kept(i) {
				out.rows[j] = append(out.rows[j], c)
			}
		}
	}
	return out
}

// keptLines prints every non-empty kept cell below the box: a label line,
// then the value alone, so a triple-click selects exactly the password.
func (g grid) keptLines(b *bytes.Buffer) {
	for _, r := range g.rows {
		for i, c := range r {
			if !g.kept(i) || c == "" {
				continue
			}
			b.WriteString(strings.ToLower(g.headers[i]))
			b.WriteString(" for ")
			b.WriteString(r[g.label])
			b.WriteString(" (shown only once):\n")
			b.WriteString(c)
			b.WriteByte('\n')
		}
	}
}

// vertical prints one block of "HEADER  value" lines per row, for a
// terminal too narrow for any box: values wrap after the header column and
// a kept value that does not fit goes whole on the next line.
func (g grid) vertical(b *bytes.Buffer, width int) {
	key := 0
	for _, h := range g.headers {
		key = max(key, twwidth.Width(h))
	}
	key += 2
	valWidth := max(width-key, minCell)
	for j, r := range g.rows {
		if j > 0 {
			b.WriteByte('\n')
		}
		for i, c := range r {
			h := g.headers[i]
			if g.kept(i) {
				if c == "" {
					continue
				}
				if key+twwidth.Width(c) > width {
					b.WriteString(h)
					b.WriteByte('\n')
					b.WriteString(c)
					b.WriteByte('\n')
					continue
				}
			}
			lines := []string{c}
			if !g.kept(i) {
				lines = wrap(c, valWidth)
			}
			for k, l := range lines {
				lead := strings.Repeat(" ", key)
				if k == 0 {
					lead = h + strings.Repeat(" ", key-twwidth.Width(h))
				}
				b.WriteString(strings.TrimRight(lead+l, " "))
				b.WriteByte('\n')
			}
		}
	}
}

// drawBox draws a light box with the given column widths, wrapping each
// cell to its width. Headers are centred, cells left-aligned.
func drawBox(b *bytes.Buffer, headers []string, rows [][]string, widths []int) {
	rule := func(l, m, r string) {
		b.WriteString(l)
		for i, w := range widths {
			if i > 0 {
				b.WriteString(m)
			}
			b.WriteString(strings.Repeat("─", w+2))
		}
		b.WriteString(r)
		b.WriteByte('\n')
	}
	line := func(cells [][]string, centre bool) {
		height := 1
		for _, c := range cells {
			height = max(height, len(c))
		}
		for k := range height {
			b.WriteString("│")
			for i, w := range widths {
				var s string
				if k < len(cells[i]) {
					s = cells[i][k]
				}
				gap := w - twwidth.Width(s)
				left := 0
				if centre {
					left = gap / 2
				}
				b.WriteByte(' ')
				b.WriteString(strings.Repeat(" ", left))
				b.WriteString(s)
				b.WriteString(strings.Repeat(" ", gap-left))
				b.WriteString(" │")
			}
			b.WriteByte('\n')
		}
	}
	wrapped := func(r []string) [][]string {
		out := make([][]string, len(widths))
		for i, w := range widths {
			out[i] = wrap(r[i], w)
		}
		return out
	}
	rule("┌", "┬", "┐")
	line(wrapped(headers), true)
	rule("├", "┼", "┤")
	for _, r := range rows {
		line(wrapped(r), false)
	}
	rule("└", "┴", "┘")
}

// wrap breaks s into lines of at most width display columns, at spaces
// where it can and inside a word longer than a line where it must.
func wrap(s string, width int) []string {
	if twwidth.Width(s) <= width || width <= 0 {
		return []string{s}
	}
	var lines []string
	var cur strings.Builder
	curW := 0
	flush := func() {
		lines = append(lines, strings.TrimRight(cur.String(), " "))
		cur.Reset()
		curW = 0
	}
	for _, word := range strings.Fields(s) {
		ww := twwidth.Width(word)
		if curW > 0 && curW+1+ww > width {
			flush()
		}
		if curW > 0 {
			cur.WriteByte(' ')
			curW++
		}
		for ww > width-curW {
			// A word longer than the room left: break it at the edge.
			head, rest := cut(word, width-curW)
			if head == "" && curW == 0 {
				// A rune wider than the whole column: take it anyway.
				head, rest = firstRune(word)
			}
			cur.WriteString(head)
			flush()
			word = rest
			ww = twwidth.Width(word)
		}
		cur.WriteString(word)
		curW += ww
	}
	if curW > 0 || len(lines) == 0 {
		flush()
	}
	return lines
}

// cut splits s after at most width display columns.
func cut(s string, width int) (string, string) {
	w := 0
	for i, r := range s {
		rw := twwidth.Width(string(r))
		if w+rw > width {
			return s[:i], s[i:]
		}
		w += rw
	}
	return s, ""
}

func firstRune(s string) (string, string) {
	_, size := utf8.DecodeRuneInString(s)
	return s[:size], s[size:]
}

// ellipsis cuts s to width display columns, the last one "…", when it is
// longer; the full text is in -o json.
func ellipsis(s string, width int) string {
	if twwidth.Width(s) <= width {
		return s
	}
	if width <= 0 {
		return ""
	}
	head, _ := cut(s, width-1)
	return head + "…"
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}
