package bench

import (
	"fmt"
	"strings"
	"time"
)

// Report is the outcome of one run: sections of rows, rendered as markdown.
type Report struct {
	CommandLine string
	Started     time.Time
	Took        time.Duration
	Environment []string // machine, Go, load before and after
	Sections    []*Section
}

// Section is one part of the run, with its own rows and how long it took.
type Section struct {
	Title string
	Took  time.Duration
	Rows  []Row
	Notes []string
}

// Row is one figure; Ratio, Target and Met are empty for figures without a target.
type Row struct {
	Measure string
	Value   string
	Latency string // p50 / p99, when it applies
	CPU     string // process CPU time per flow, webhook or signal, when it applies
	Ratio   string
	Target  string
	Met     string // "yes", "no"
}

// Row returns the first row named measure in any section.
func (r *Report) Row(measure string) (Row, bool) {
	for _, s := range r.Sections {
		for _, row := range s.Rows {
			if row.Measure == measure {
				return row, true
			}
		}
	}
	return Row{}, false
}

// Missed lists the rows whose target was not met.
func (r *Report) Missed() []Row {
	var missed []Row
	for _, s := range r.Sections {
		for _, row := range s.Rows {
			if row.Met == "no" {
				missed = append(missed, row)
			}
		}
	}
	return missed
}

func (s *Section) add(row Row) { s.Rows = append(s.Rows, row) }

func (s *Section) note(format string, args ...any) {
	s.Notes = append(s.Notes, fmt.Sprintf(format, args...))
}

// verdict is "yes" when ok, "no" otherwise.
func verdict(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}

// ratioRow is a row comparing a to b against a minimum ratio.
func ratioRow(measure string, a, b float64, atLeast float64) Row {
	ratio := 0.0
	if b > 0 {
		ratio = a / b
	}
	return Row{
		Measure: measure,
		// Three decimals: 0.898 must not read as a 0.90 that missed ≥ 0.9.
		Ratio:  fmt.Sprintf("%.3f×", ratio),
		Target: fmt.Sprintf("≥ %.2g×", atLeast),
		Met:    verdict(ratio >= atLeast),
	}
}

func rate(r runStats, unit string) string { return fmt.Sprintf("%.1f %s/s", r.PerSecond(), unit) }

// cpuEach is the process CPU time per job: everything this process did for it (server,
// product, driver), a figure that other load on the machine disturbs less than a rate.
func cpuEach(r runStats) string { return ms(r.CPUPer()) }

func latency(r runStats) string {
	return fmt.Sprintf("%s / %s", ms(r.Percentile(0.50)), ms(r.Percentile(0.99)))
}

func ms(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.0f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	}
}

func round(d time.Duration) string { return d.Round(time.Second).String() }

// Markdown renders the report as the page docs/benchmarks.md.
func (r *Report) Markdown() string {
	var b strings.Builder
	b.WriteString("# Benchmarks\n\n")
	b.WriteString("Written by `qesflow bench`; every figure below comes from one run on one machine, and every\n")
	b.WriteString("ratio compares two measurements of that same run (see `bench/doc.go` for the method).\n\n")
	fmt.Fprintf(&b, "```sh\n%s\n```\n\n", r.CommandLine)
	fmt.Fprintf(&b, "Run on %s, took %s.\n\n", r.Started.UTC().Format("2006-01-02 15:04 MST"), round(r.Took))
	for _, e := range r.Environment {
		fmt.Fprintf(&b, "- %s\n", e)
	}
	b.WriteString("\n")
	for _, s := range r.Sections {
		fmt.Fprintf(&b, "## %s\n\nTook %s.\n\n", s.Title, round(s.Took))
		b.WriteString("| measure | value | latency p50 / p99 | CPU each | ratio | target | met |\n")
		b.WriteString("| --- | --- | --- | --- | --- | --- | --- |\n")
		for _, row := range s.Rows {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", cell(row.Measure), cell(row.Value),
				cell(row.Latency), cell(row.CPU), cell(row.Ratio), cell(row.Target), cell(row.Met))
		}
		b.WriteString("\n")
		for _, n := range s.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
		if len(s.Notes) > 0 {
			b.WriteString("\n")
		}
	}
	return b.String()
}

func cell(s string) string {
	if s == "" {
		return ""
	}
	return strings.ReplaceAll(s, "|", `\|`)
}
