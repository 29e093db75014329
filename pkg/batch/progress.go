package batch

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// NewProgressBar returns an OnProgress callback drawing one line on w,
// redrawn in place with a carriage return: done/total, rows per second, ETA
// and failures. The final snapshot ends the line. Use it only when w is a
// terminal.
//
// columns is the terminal's width (0 when unknown): a line that would wrap
// cannot be redrawn in place, so a longer one loses its note first and is
// then cut.
func NewProgressBar(w io.Writer, columns int) func(Progress) {
	width := 0
	return func(p Progress) {
		line := progressLine(p)
		if columns > 0 && len(line) >= columns {
			p.Note = ""
			line = progressLine(p)
			if len(line) >= columns {
				line = line[:columns-1] // ASCII only: bytes are columns
			}
		}
		pad := ""
		if n := width - len(line); n > 0 {
			pad = strings.Repeat(" ", n) // wipe what a longer earlier line left
		}
		width = len(line)
		end := ""
		if p.Final {
			end = "\n"
		}
		fmt.Fprintf(w, "\r%s%s%s", line, pad, end)
	}
}

func progressLine(p Progress) string {
	const barWidth = 20
	frac := 0.0
	if p.Total > 0 {
		frac = float64(p.Done) / float64(p.Total)
	}
	filled := int(math.Round(frac * barWidth))
	var b strings.Builder
	// Like every line cpctl writes to stderr, the bar says whose it is.
	b.WriteString("cpctl: [")
	b.WriteString(strings.Repeat("=", filled))
	b.WriteString(strings.Repeat(" ", barWidth-filled))
	fmt.Fprintf(&b, "] %d/%d %3.0f%%  %s rows/s", p.Done, p.Total, frac*100, strconv.FormatFloat(p.Rate, 'f', 1, 64))
	switch {
	case p.Final:
		fmt.Fprintf(&b, "  in %s", p.Elapsed.Round(time.Second/10))
	case p.ETA > 0:
		fmt.Fprintf(&b, "  ETA %s", p.ETA.Round(time.Second))
	default:
		b.WriteString("  ETA -")
	}
	if p.Failed > 0 {
		fmt.Fprintf(&b, "  %d failed", p.Failed)
	}
	if p.Note != "" {
		b.WriteString("  ")
		b.WriteString(p.Note)
	}
	return b.String()
}

// ParseRate reads a rate limit such as "10/s", "600/m", "3600/h", "5/500ms"
// or "10" (per second). "", "0", "none" and "off" mean no limit (0).
func ParseRate(s string) (rate.Limit, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	switch s {
	case "", "0", "none", "off":
		return 0, nil
	}
	num, per, hasPer := strings.Cut(s, "/")
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || n < 0 || math.IsInf(n, 0) || math.IsNaN(n) {
		return 0, fmt.Errorf("rate %q: want a number of rows per unit, like 10/s", s)
	}
	if n == 0 {
		return 0, nil
	}
	unit := time.Second
	if hasPer {
		per = strings.TrimSpace(per)
		switch per {
		case "s", "sec", "second":
			unit = time.Second
		case "m", "min", "minute":
			unit = time.Minute
		case "h", "hour":
			unit = time.Hour
		default:
			unit, err = time.ParseDuration(per)
			if err != nil || unit <= 0 {
				return 0, fmt.Errorf("rate %q: unknown unit %q (s, m, h or a duration like 500ms)", s, per)
			}
		}
	}
	return rate.Limit(n / unit.Seconds()), nil
}
