package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// summary is the spread of repeated measurements of one quantity.
type summary struct {
	Median, Min, Max float64
	N                int
}

// summarize returns the median, minimum and maximum of xs. The median, not
// the mean, is what ratios use: on a shared 2-core machine one descheduled
// run would drag a mean far off.
func summarize(xs []float64) summary {
	if len(xs) == 0 {
		return summary{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return summary{Median: med, Min: s[0], Max: s[n-1], N: n}
}

func durations(ds []time.Duration) []float64 {
	xs := make([]float64, len(ds))
	for i, d := range ds {
		xs[i] = d.Seconds()
	}
	return xs
}

// unit formats a summary's figures.
type unit int

const (
	unitSeconds unit = iota
	unitPerSecond
	unitMB
)

func (u unit) format(x float64) string {
	switch u {
	case unitSeconds:
		switch {
		case x < 1e-3:
			return fmt.Sprintf("%.0fµs", x*1e6)
		case x < 1:
			return fmt.Sprintf("%.2fms", x*1e3)
		}
		return fmt.Sprintf("%.3fs", x)
	case unitPerSecond:
		return fmt.Sprintf("%.0f/s", x)
	case unitMB:
		return fmt.Sprintf("%.1fMB", x)
	}
	return fmt.Sprint(x)
}

func (s summary) String(u unit) string {
	if s.N == 0 {
		return "-"
	}
	return fmt.Sprintf("%s [%s..%s] n=%d", u.format(s.Median), u.format(s.Min), u.format(s.Max), s.N)
}

// figure is one named, summarised quantity in a result's raw column.
type figure struct {
	Name string
	Sum  summary
	Unit unit
}

func (f figure) String() string { return f.Name + " " + f.Sum.String(f.Unit) }

// verdict is a result's outcome.
type verdict string

const (
	pass    verdict = "PASS"
	fail    verdict = "FAIL"
	info    verdict = "info"
	skipped verdict = "skipped"
	failed  verdict = "ERROR"
)

// goal is a target: the ratio must be at most (or at least) Limit.
type goal struct {
	AtMost bool
	Limit  float64
}

func (g goal) String() string {
	if g.AtMost {
		return fmt.Sprintf("≤ %.2f", g.Limit)
	}
	return fmt.Sprintf("≥ %.2f", g.Limit)
}

func (g goal) met(ratio float64) bool {
	if g.AtMost {
		return ratio <= g.Limit
	}
	return ratio >= g.Limit
}

// result is one row of the bench's table.
type result struct {
	ID      string
	What    string
	Goal    *goal // nil: informational
	Ratio   float64
	Verdict verdict
	Figures []figure
	Note    string
}

// judge sets the verdict from the ratio; in quick mode nothing is asserted.
func (r *result) judge(quick bool) {
	if r.Verdict != "" {
		return
	}
	switch {
	case r.Goal == nil || quick:
		r.Verdict = info
	case r.Goal.met(r.Ratio):
		r.Verdict = pass
	default:
		r.Verdict = fail
	}
}

func (r *result) raw() string {
	parts := make([]string, 0, len(r.Figures)+1)
	for _, f := range r.Figures {
		parts = append(parts, f.String())
	}
	if r.Note != "" {
		parts = append(parts, r.Note)
	}
	return strings.Join(parts, "; ")
}

func (r *result) ratioText() string {
	if r.Verdict == skipped || r.Verdict == failed || (r.Goal == nil && r.Ratio == 0) {
		return "-"
	}
	return fmt.Sprintf("%.3f", r.Ratio)
}

func (r *result) goalText() string {
	if r.Goal == nil {
		return "-"
	}
	return r.Goal.String()
}

// printTable writes the results as aligned text columns.
func printTable(w io.Writer, rs []result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tMEASUREMENT\tTARGET\tRATIO\tRESULT\tRAW (median [min..max])")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.What, r.goalText(), r.ratioText(), r.Verdict, r.raw())
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("print table: %w", err)
	}
	return nil
}

// printMarkdown writes the results as a Markdown table for docs/benchmarks.md.
func printMarkdown(w io.Writer, rs []result) error {
	esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	var b strings.Builder
	b.WriteString("| id | measurement | target | ratio | result | raw: median [min..max] |\n|---|---|---|---|---|---|\n")
	for _, r := range rs {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", r.ID, esc(r.What), r.goalText(), r.ratioText(), r.Verdict, esc(r.raw()))
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("print table: %w", err)
	}
	return nil
}
