package scaleout

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// counterSum scrapes the Prometheus text at url and sums the samples of metric whose labels
// contain every one of labels (e.g. `outcome="signalled"`).
func counterSum(ctx context.Context, h *httpClient, url, metric string, labels ...string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := h.c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, labelSet, value := splitSample(line)
		if name != metric || !containsAll(labelSet, labels) {
			continue
		}
		fields := strings.Fields(value)
		if len(fields) == 0 {
			return 0, fmt.Errorf("GET %s: sample %q has no value", url, line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return 0, fmt.Errorf("GET %s: sample %q: %w", url, line, err)
		}
		sum += v
	}
	return sum, sc.Err()
}

// splitSample splits `name{labels} value [timestamp]` (or `name value`).
func splitSample(line string) (name, labelSet, value string) {
	if i := strings.IndexByte(line, '{'); i >= 0 {
		if j := strings.LastIndex(line, "} "); j > i {
			return line[:i], line[i+1 : j], line[j+2:]
		}
		return "", "", ""
	}
	name, value, _ = strings.Cut(line, " ")
	return name, "", value
}

func containsAll(labelSet string, labels []string) bool {
	for _, l := range labels {
		if !strings.Contains(labelSet, l) {
			return false
		}
	}
	return true
}

// signalled is how many webhooks a bridge has signalled to their workflow.
func signalled(ctx context.Context, h *httpClient, bridge *node) (int, error) {
	v, err := counterSum(ctx, h, bridge.url+"/metrics", "qesflow_bridge_requests_total", `outcome="signalled"`)
	return int(v), err
}

// workflowTasks is how many workflow tasks a worker has polled.
func workflowTasks(ctx context.Context, h *httpClient, worker *node) (int, error) {
	v, err := counterSum(ctx, h, worker.url+"/metrics", "temporal_workflow_task_queue_poll_succeed_total")
	return int(v), err
}
