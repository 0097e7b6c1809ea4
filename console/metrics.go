package console

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/api/workflowservice/v1"
	"go.uber.org/zap"

	"github.com/qesflow/qesflow/workflows"
)

// Queue metric names: the onboardings that wait for a person, read from Temporal's visibility
// at scrape time (search attributes only), by list.
const (
	MetricWaiting        = "qesflow_onboardings_waiting"                    // label list
	MetricWaitingOldest  = "qesflow_onboardings_waiting_oldest_age_seconds" // label list: since the oldest one started
	MetricQueueReadError = "qesflow_onboardings_waiting_read_errors_total"  // visibility reads that failed
)

// Lists of the queue metrics (the label list).
const (
	ListComplianceReview = "compliance_review"
	ListKYCReviewOverdue = "kyc_review_overdue"
	ListUserData         = "user_data"
)

// queueLists are the visibility queries of the lists.
var queueLists = []struct {
	name  string
	query string
}{
	{ListComplianceReview, "ExecutionStatus = 'Running' AND " + workflows.SAQESState + " = '" + string(workflows.StateComplianceReview) + "'"},
	{ListKYCReviewOverdue, "ExecutionStatus = 'Running' AND " + workflows.SAQESState + " = '" + string(workflows.StateKYCReviewOverdue) + "'"},
	{ListUserData, "ExecutionStatus = 'Running' AND " + workflows.SAQESState + " IN ('" + string(workflows.StateUserDataIncomplete) + "','" + string(workflows.StateUserUnknown) + "')"},
}

// queueCacheFor is how long one visibility read serves scrapes, so that several Prometheus
// servers scraping every API replica do not multiply the reads.
const queueCacheFor = 30 * time.Second

// QueueCollector exports the size of the lists of onboardings that need a person and the age
// of the oldest one in each (from its start: visibility has no time of entering the state,
// so this bounds the wait from above). It reads visibility only, never a workflow's state.
type QueueCollector struct {
	temporal  Temporal
	namespace string
	now       func() time.Time
	log       *zap.Logger

	waiting, oldest *prometheus.Desc
	readErrors      prometheus.Counter

	mu       sync.Mutex
	readAt   time.Time
	counts   map[string]float64
	oldestAt map[string]time.Time
}

// NewQueueCollector returns the collector of the namespace's queue; register it in the
// process's registry.
func NewQueueCollector(temporal Temporal, namespace string, log *zap.Logger) *QueueCollector {
	if log == nil {
		log = zap.NewNop()
	}
	return &QueueCollector{
		temporal: temporal, namespace: namespace, now: time.Now, log: log,
		waiting: prometheus.NewDesc(MetricWaiting, "Running onboardings that wait for a person, by list (compliance_review, kyc_review_overdue, user_data).",
			[]string{"list"}, nil),
		oldest: prometheus.NewDesc(MetricWaitingOldest, "Seconds since the oldest onboarding of the list started (0 when the list is empty).",
			[]string{"list"}, nil),
		readErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: MetricQueueReadError,
			Help: "Visibility reads of the waiting lists that failed (the gauges then keep their last values)."}),
	}
}

// Describe sends the descriptions of the metrics.
func (q *QueueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- q.waiting
	ch <- q.oldest
	q.readErrors.Describe(ch)
}

// Collect reads the lists (at most every queueCacheFor) and exports them.
func (q *QueueCollector) Collect(ch chan<- prometheus.Metric) {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.now()
	if q.counts == nil || now.Sub(q.readAt) >= queueCacheFor {
		q.refresh(now)
	}
	for _, l := range queueLists {
		ch <- prometheus.MustNewConstMetric(q.waiting, prometheus.GaugeValue, q.counts[l.name], l.name)
		age := 0.0
		if at, ok := q.oldestAt[l.name]; ok && q.counts[l.name] > 0 {
			age = now.Sub(at).Seconds()
		}
		ch <- prometheus.MustNewConstMetric(q.oldest, prometheus.GaugeValue, age, l.name)
	}
	q.readErrors.Collect(ch)
}

// refresh reads every list; a list that fails keeps its last values. The caller holds mu.
func (q *QueueCollector) refresh(now time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if q.counts == nil {
		q.counts, q.oldestAt = map[string]float64{}, map[string]time.Time{}
	}
	q.readAt = now
	for _, l := range queueLists {
		n, oldest, err := q.read(ctx, l.query)
		if err != nil {
			q.readErrors.Inc()
			q.log.Warn("queue metrics: visibility read failed", zap.String("list", l.name), zap.Error(err))
			continue
		}
		q.counts[l.name] = float64(n)
		q.oldestAt[l.name] = oldest
	}
}

// read counts the runs of a query and finds the earliest start among them (at most
// maxListed runs are read).
func (q *QueueCollector) read(ctx context.Context, query string) (int, time.Time, error) {
	var n int
	var oldest time.Time
	var token []byte
	for n < maxListed {
		resp, err := q.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: q.namespace, Query: query, PageSize: 100, NextPageToken: token,
		})
		if err != nil {
			return 0, time.Time{}, err
		}
		for _, ex := range resp.GetExecutions() {
			n++
			if st := ex.GetStartTime().AsTime(); oldest.IsZero() || st.Before(oldest) {
				oldest = st
			}
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			break
		}
	}
	return n, oldest, nil
}
