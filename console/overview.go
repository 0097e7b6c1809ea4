package console

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/workflows"
)

// allStates is every state of the onboarding, in the order the overview lists them.
var allStates = []workflows.State{
	workflows.StateInitiating, workflows.StateAwaitingUser, workflows.StateInProgress, workflows.StateProviderReview,
	workflows.StateSuccess, workflows.StateAwaitingSEPA, workflows.StateDocuments, workflows.StateKYCReviewPending,
	workflows.StateKYCReviewOverdue, workflows.StateRetryScheduled, workflows.StateWaitingForUser,
	workflows.StateUserDataIncomplete, workflows.StateUserUnknown, workflows.StateFraudSuspected,
	workflows.StateComplianceReview, workflows.StateCompletedValidated, workflows.StateCompletedRefused,
	workflows.StateDeclined, workflows.StateRejected, workflows.StateExpired, workflows.StateOperatorCancelled,
	workflows.StateProviderCanceled, workflows.StateAborted, workflows.StateFailed,
}

// funnelStages are the steps of the funnel, each with the states that have passed it.
var funnelStages = []struct {
	label  string
	states []workflows.State
}{
	{"identified", []workflows.State{workflows.StateSuccess, workflows.StateAwaitingSEPA, workflows.StateDocuments,
		workflows.StateKYCReviewPending, workflows.StateKYCReviewOverdue, workflows.StateCompletedValidated, workflows.StateCompletedRefused}},
	{"KYC review requested", []workflows.State{workflows.StateKYCReviewPending, workflows.StateKYCReviewOverdue,
		workflows.StateCompletedValidated, workflows.StateCompletedRefused}},
	{"validated", []workflows.State{workflows.StateCompletedValidated}},
}

// bar is one labelled number of a chart.
type bar struct {
	Label string
	Value float64
	Text  string // the number as shown beside the bar
}

// chart is one chart of the overview: the SVG and the same numbers as a table.
type chart struct {
	ID    string
	Title string
	Bars  []bar
	SVG   template.HTML
}

type overviewData struct {
	Charts           []chart
	MedianCompletion string
	Completed        int
	Generated        time.Time
}

func (c *Console) overviewPage(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx, cancel := c.callCtx(r)
	defer cancel()
	p := c.pageFor(w, r, sess, "Overview")
	d, err := c.overview(ctx)
	if err != nil {
		c.log.Error("console: overview", zap.Error(err))
		p.Error = "Temporal did not answer every question; the numbers may be incomplete."
	}
	p.Data = d
	c.render(w, http.StatusOK, "overview", p)
}

func (c *Console) overview(ctx context.Context) (overviewData, error) {
	now := c.cfg.Now()
	d := overviewData{Generated: now}
	var firstErr error
	keep := func(err error) {
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	byState := map[workflows.State]int64{}
	states := chart{ID: "states", Title: "Onboardings per state"}
	for _, s := range allStates {
		n, err := c.count(ctx, workflows.SAQESState+" = '"+string(s)+"'")
		keep(err)
		byState[s] = n
		if n > 0 {
			states.Bars = append(states.Bars, bar{Label: string(s), Value: float64(n), Text: fmt.Sprint(n)})
		}
	}
	d.Charts = append(d.Charts, states)

	started, err := c.count(ctx, "WorkflowType = '"+workflows.WorkflowName+"'")
	keep(err)
	funnel := chart{ID: "funnel", Title: "Funnel: started → validated"}
	funnel.Bars = append(funnel.Bars, bar{Label: "started", Value: float64(started), Text: fmt.Sprint(started)})
	for _, st := range funnelStages {
		var n int64
		for _, s := range st.states {
			n += byState[s]
		}
		funnel.Bars = append(funnel.Bars, bar{Label: st.label, Value: float64(n), Text: fmt.Sprintf("%d (%s)", n, percent(n, started))})
	}
	d.Charts = append(d.Charts, funnel)

	for _, days := range []int{7, 30} {
		since := now.Add(-time.Duration(days) * 24 * time.Hour).UTC().Format(time.RFC3339)
		runs, err := c.listRuns(ctx, workflows.SAQESReasonCode+" > 0 AND StartTime > '"+since+"'")
		keep(err)
		d.Charts = append(d.Charts, reasonChart(fmt.Sprintf("reasons-%dd", days), fmt.Sprintf("Reason codes, last %d days, by category", days), runs))
	}

	since := now.Add(-30 * 24 * time.Hour).UTC().Format(time.RFC3339)
	done, err := c.listRuns(ctx, "ExecutionStatus = 'Completed' AND "+workflows.SAQESState+" = '"+
		string(workflows.StateCompletedValidated)+"' AND CloseTime > '"+since+"'")
	keep(err)
	var durations []time.Duration
	for _, r := range done {
		if !r.Close.IsZero() {
			durations = append(durations, r.Close.Sub(r.Start))
		}
	}
	d.Completed = len(durations)
	if len(durations) > 0 {
		sort.Slice(durations, func(i, j int) bool { return durations[i] < durations[j] })
		d.MedianCompletion = formatDuration(median(durations))
	}
	for i := range d.Charts {
		d.Charts[i].SVG = barSVG(d.Charts[i])
	}
	return d, firstErr
}

// reasonChart counts runs by reason category and code (both bounded by the catalog).
func reasonChart(id, title string, runs []run) chart {
	counts := map[string]int{}
	for _, r := range runs {
		reason := treezor.LookupReason(int(r.ReasonCode))
		counts[fmt.Sprintf("%s %d", reason.Category, r.ReasonCode)]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	ch := chart{ID: id, Title: title}
	for _, k := range keys {
		ch.Bars = append(ch.Bars, bar{Label: k, Value: float64(counts[k]), Text: fmt.Sprint(counts[k])})
	}
	return ch
}

// median of sorted durations.
func median(sorted []time.Duration) time.Duration {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

func percent(n, of int64) string {
	if of == 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(n)/float64(of))
}

// barSVG draws a horizontal bar chart; labels are escaped, numbers are the chart's own.
func barSVG(ch chart) template.HTML {
	const labelW, barW, rowH, textW = 190, 300, 22, 90
	if len(ch.Bars) == 0 {
		return template.HTML(`<p class="muted">No data.</p>`)
	}
	max := 0.0
	for _, b := range ch.Bars {
		if b.Value > max {
			max = b.Value
		}
	}
	h := rowH*len(ch.Bars) + 4
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="%s" width="%d" height="%d" font-size="12" font-family="system-ui,sans-serif">`,
		template.HTMLEscapeString(ch.Title), labelW+barW+textW, h)
	for i, b := range ch.Bars {
		y := i*rowH + 2
		w := 0
		if max > 0 {
			w = int(b.Value / max * barW)
		}
		if b.Value > 0 && w < 2 {
			w = 2
		}
		fmt.Fprintf(&sb, `<text x="%d" y="%d" text-anchor="end">%s</text>`, labelW-6, y+15, template.HTMLEscapeString(b.Label))
		fmt.Fprintf(&sb, `<rect x="%d" y="%d" width="%d" height="%d" fill="#3a6ea5"/>`, labelW, y+3, w, rowH-6)
		fmt.Fprintf(&sb, `<text x="%d" y="%d">%s</text>`, labelW+w+6, y+15, template.HTMLEscapeString(b.Text))
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String()) // every interpolated string above is escaped
}
