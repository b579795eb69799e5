package report

import (
	"fmt"
	"io"
	"strings"
)

// Verdict is a row's result against its target.
type Verdict int

// Verdicts.
const (
	// NoTarget marks a ceiling or a figure without a target.
	NoTarget Verdict = iota + 1
	// Pass means the target was met.
	Pass
	// Fail means it was not.
	Fail
	// Skipped means the figure could not be measured in this run.
	Skipped
)

// String returns the verdict as the table shows it.
func (v Verdict) String() string {
	switch v {
	case NoTarget:
		return "–"
	case Pass:
		return "✅ pass"
	case Fail:
		return "❌ fail"
	case Skipped:
		return "⏭ skipped"
	default:
		return fmt.Sprintf("Verdict(%d)", int(v))
	}
}

// Row is one line of the table.
type Row struct {
	// ID names the row stably, whatever the figures.
	ID string
	// Figure says what was measured.
	Figure string
	// Measured is the figure itself.
	Measured string
	// Ratio relates it to the ceilings that bound it.
	Ratio string
	// Target is what it should reach.
	Target  string
	Verdict Verdict
}

// Report is the table of one run.
type Report struct {
	// Header is a line above the table saying where and how it ran.
	Header string
	Rows   []Row
	// Notes are lines printed under the table.
	Notes []string
}

// Row returns the row with id, or false.
func (r *Report) Row(id string) (Row, bool) {
	for _, row := range r.Rows {
		if row.ID == id {
			return row, true
		}
	}

	return Row{}, false
}

// Failed counts the rows that failed their targets.
func (r *Report) Failed() int {
	n := 0
	for _, row := range r.Rows {
		if row.Verdict == Fail {
			n++
		}
	}

	return n
}

// Markdown writes the header, the table and the notes.
func (r *Report) Markdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", r.Header)
	b.WriteString("| figure | measured | ratio to ceiling | target | result |\n")
	b.WriteString("| --- | --- | --- | --- | --- |\n")
	for _, row := range r.Rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", cell(row.Figure), cell(row.Measured),
			cell(row.Ratio), cell(row.Target), row.Verdict)
	}

	if len(r.Notes) > 0 {
		b.WriteString("\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}

	_, err := io.WriteString(w, b.String())
	return err
}

// cell escapes a table cell and shows an empty one as a dash.
func cell(s string) string {
	if s == "" {
		return "–"
	}

	return strings.ReplaceAll(s, "|", `\|`)
}
