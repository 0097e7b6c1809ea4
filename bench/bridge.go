package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/pprof"
	"strconv"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/qesflow/qesflow/internal/httpclient"
	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/webhookbridge"
	"github.com/qesflow/qesflow/workflows"
)

// latencySeconds is how long each latency test sends at the configured rate.
const latencySeconds = 20

// webhook is one signed delivery and the event the bridge makes of it.
type webhook struct {
	workflowID string
	body       []byte
	event      treezor.Event
}

// signedWebhooks builds n user.kycreview webhooks (PENDING, as Treezor sends while a review
// runs) spread over the users sink-0 … sink-(workflows-1), signed with secret, each with its
// own webhook id. Signing is the provider's work: it is done before anything is measured.
func signedWebhooks(secret, tag string, n, workflows int) ([]webhook, error) {
	out := make([]webhook, n)
	for i := range out {
		user := userID("sink", i%workflows)
		payload, err := json.Marshal(map[string]any{"users": []map[string]string{{
			"userId": user, "kycReview": "1", "kycLevel": "2", "kycReviewComment": "",
		}}})
		if err != nil {
			return nil, err
		}
		if payload, err = treezor.Canonicalize(payload); err != nil {
			return nil, err
		}
		sig, err := treezor.Sign(secret, payload)
		if err != nil {
			return nil, err
		}
		env := &treezor.Envelope{
			Webhook: treezor.EventUserKYCReview, WebhookID: fmt.Sprintf("bench-%s-%d", tag, i),
			CreatedAt: time.Now(), Object: "user", ObjectID: user, ObjectPayload: payload, Signature: sig,
		}
		body, err := treezor.EncodeEnvelope(env)
		if err != nil {
			return nil, err
		}
		ev, err := env.Event()
		if err != nil {
			return nil, err
		}
		out[i] = webhook{workflowID: sinkWorkflowID(user), body: body, event: ev}
	}
	return out, nil
}

func sinkWorkflowID(user string) string { return workflows.WorkflowID(user) }

// bridgeTarget sends webhooks to the bridge over HTTP and checks that each was signalled.
type bridgeTarget struct {
	url  string
	http *http.Client
}

func newBridgeTarget(bridgeURL string, concurrency int) *bridgeTarget {
	return &bridgeTarget{url: bridgeURL + webhookbridge.Path, http: httpclient.New(concurrency, time.Minute)}
}

func (b *bridgeTarget) deliver(ctx context.Context, w webhook) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.url, bytes.NewReader(w.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.http.Do(req)
	if err != nil {
		return fmt.Errorf("deliver webhook: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("deliver webhook: status %d: %.200s", resp.StatusCode, raw)
	}
	var answer struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(raw, &answer); err != nil || answer.Status != webhookbridge.OutcomeSignalled {
		return fmt.Errorf("deliver webhook: not signalled: %.200s", raw)
	}
	return nil
}

func rawSignal(c client.Client) sender {
	return func(ctx context.Context, w webhook) error {
		return c.SignalWorkflow(ctx, w.workflowID, "", workflows.SignalWebhook, w.event)
	}
}

// sender delivers one webhook: through the bridge, or as a raw SignalWorkflow call.
type sender func(ctx context.Context, w webhook) error

// over is the job that sends webhook i of ws.
func over(ws []webhook, send sender) job {
	return func(ctx context.Context, i int) error { return send(ctx, ws[i]) }
}

// bridgeTest is what the bridge section compares: the same events into the same running
// workflows, through the bridge and as raw signals.
type bridgeTest struct {
	bridge, raw sender
	// The webhooks of each test, signed before anything is measured.
	warm, tput, tputRaw, lat, latRaw []webhook
}

// bridge compares verified webhooks through the bridge with raw SignalWorkflow calls of the
// same events into the same running workflows: throughput at the configured concurrency
// (raw, bridge, bridge, raw, bridgeRounds times), then latency at a fixed rate.
func (r *runner) bridge(ctx context.Context, sec *Section) (err error) {
	cfg, p := r.cfg, r.product
	if err := startSinks(ctx, p.client, p.sinkQueue, cfg.BridgeWorkflows); err != nil {
		return err
	}
	defer func() { err = errors.Join(err, stopSinks(p.client, cfg.BridgeWorkflows)) }()
	bt, err := r.newBridgeTest()
	if err != nil {
		return err
	}
	for i, send := range []sender{bt.raw, bt.bridge} {
		if err := closedLoop(ctx, i*len(bt.warm)/2, len(bt.warm)/2, cfg.Concurrency, over(bt.warm, send)).err("warm-up"); err != nil {
			return err
		}
	}
	rawTotal, bridgeTotal, err := r.bridgeThroughput(ctx, bt)
	if err != nil {
		return err
	}
	n := len(bt.lat)
	r.progress("latency: %d webhooks at %d/s, then %d raw signals at %d/s", n, cfg.BridgeRate, n, cfg.BridgeRate)
	bridgeLat := paced(ctx, n, float64(cfg.BridgeRate), over(bt.lat, bt.bridge))
	if err := bridgeLat.err("paced webhooks"); err != nil {
		return err
	}
	rawLat := paced(ctx, n, float64(cfg.BridgeRate), over(bt.latRaw, bt.raw))
	if err := rawLat.err("paced signals"); err != nil {
		return err
	}
	r.addBridgeRows(sec, rawTotal, bridgeTotal, rawLat, bridgeLat)
	return nil
}

func (r *runner) newBridgeTest() (*bridgeTest, error) {
	cfg, p := r.cfg, r.product
	bt := &bridgeTest{bridge: newBridgeTarget(p.bridgeURL, cfg.Concurrency).deliver, raw: rawSignal(p.client)}
	latencyN := min(cfg.BridgeWebhooks, latencySeconds*cfg.BridgeRate)
	for _, b := range []struct {
		dst *[]webhook
		tag string
		n   int
	}{
		{&bt.warm, "warm", min(cfg.BridgeWebhooks, 200)}, {&bt.tput, "tput", cfg.BridgeWebhooks},
		{&bt.tputRaw, "tput-raw", cfg.BridgeWebhooks}, {&bt.lat, "lat", latencyN}, {&bt.latRaw, "lat-raw", latencyN},
	} {
		ws, err := signedWebhooks(p.webhookSecret, b.tag, b.n, cfg.BridgeWorkflows)
		if err != nil {
			return nil, fmt.Errorf("sign webhooks: %w", err)
		}
		*b.dst = ws
	}
	return bt, nil
}

// bridgeRounds is how many times the bridge throughput test runs raw, bridge, bridge, raw;
// each kind's webhooks are split evenly over its 2 × bridgeRounds segments.
const bridgeRounds = 2

// bridgeThroughput sends the throughput webhooks in the order raw, bridge, bridge, raw,
// bridgeRounds times.
func (r *runner) bridgeThroughput(ctx context.Context, bt *bridgeTest) (raw, bridge runStats, err error) {
	conc, n := r.cfg.Concurrency, len(bt.tput)
	parts := 2 * bridgeRounds
	type segment struct {
		bridge      bool
		first, size int
	}
	var order []segment
	for round := range bridgeRounds {
		a, b := 2*round, 2*round+1 // this round's two parts of each kind
		first, second := segment{first: n * a / parts, size: n*(a+1)/parts - n*a/parts}, segment{first: n * b / parts, size: n*(b+1)/parts - n*b/parts}
		order = append(order, first, segment{true, first.first, first.size}, segment{true, second.first, second.size}, second)
	}
	for i, seg := range order {
		if seg.bridge {
			// The profile (if any) covers the first round's two adjacent bridge segments.
			profile := r.cfg.BridgeCPUProfile != nil && (i == 1 || i == 2)
			if profile && i == 1 {
				if err := pprof.StartCPUProfile(r.cfg.BridgeCPUProfile); err != nil {
					return raw, bridge, fmt.Errorf("start CPU profile: %w", err)
				}
			}
			r.progress("%d webhooks through the bridge at concurrency %d", seg.size, conc)
			st := closedLoop(ctx, seg.first, seg.size, conc, over(bt.tput, bt.bridge))
			if profile && i == 2 {
				pprof.StopCPUProfile()
			}
			if err := st.err("webhooks"); err != nil {
				return raw, bridge, err
			}
			bridge = bridge.add(st)
			continue
		}
		r.progress("%d raw SignalWorkflow calls at concurrency %d", seg.size, conc)
		st := closedLoop(ctx, seg.first, seg.size, conc, over(bt.tputRaw, bt.raw))
		if err := st.err("signals"); err != nil {
			return raw, bridge, err
		}
		raw = raw.add(st)
	}
	return raw, bridge, nil
}

func (r *runner) addBridgeRows(sec *Section, rawTotal, bridgeTotal, rawLat, bridgeLat runStats) {
	cfg := r.cfg
	sec.add(Row{Measure: "raw SignalWorkflow calls", Value: rate(rawTotal, "signals"), Latency: latency(rawTotal), CPU: cpuEach(rawTotal)})
	sec.add(Row{Measure: "verified webhooks through the bridge", Value: rate(bridgeTotal, "webhooks"),
		Latency: latency(bridgeTotal), CPU: cpuEach(bridgeTotal)})
	sec.add(ratioRow("bridge ÷ raw SignalWorkflow", bridgeTotal.PerSecond(), rawTotal.PerSecond(), targetBridgeOverRaw))
	p99 := bridgeLat.Percentile(0.99)
	sec.add(Row{
		Measure: "bridge latency, request to 2xx, at " + strconv.Itoa(cfg.BridgeRate) + " webhooks/s",
		Value:   rate(bridgeLat, "webhooks"), Latency: latency(bridgeLat),
		Target: "p99 ≤ " + strconv.Itoa(targetBridgeP99Millis) + " ms", Met: verdict(p99 <= targetBridgeP99Millis*time.Millisecond),
	})
	sec.add(Row{
		Measure: "raw SignalWorkflow latency at " + strconv.Itoa(cfg.BridgeRate) + " signals/s",
		Value:   rate(rawLat, "signals"), Latency: latency(rawLat),
	})
	sec.note("%d running workflows receive the webhooks (user.kycreview, kycReview PENDING, signed with "+
		"the PHP-canonical HMAC); raw calls signal the same events to the same workflows", cfg.BridgeWorkflows)
	sec.note("throughput: %d of each at concurrency %d, in the order raw, bridge, bridge, raw, %d times; every "+
		"webhook answered 200 \"signalled\"", cfg.BridgeWebhooks, cfg.Concurrency, bridgeRounds)
	sec.note("latency: %d webhooks, then %d raw signals, each an open loop at the given rate, measured from "+
		"the moment each request was due", bridgeLat.Done, rawLat.Done)
	if cfg.BridgeCPUProfile != nil {
		sec.note("the first two bridge segments ran with the CPU profiler on (--cpuprofile-bridge), which costs them a little")
	}
}

// startSinks starts the signal sinks sink-0 … sink-(n-1).
func startSinks(ctx context.Context, c client.Client, taskQueue string, n int) error {
	st := closedLoop(ctx, 0, n, 16, func(ctx context.Context, i int) error {
		_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: sinkWorkflowID(userID("sink", i)), TaskQueue: taskQueue,
		}, SinkWorkflowName)
		return err
	})
	return st.err("start signal sinks")
}

// stopSinks terminates the signal sinks.
func stopSinks(c client.Client, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st := closedLoop(ctx, 0, n, 16, func(ctx context.Context, i int) error {
		return c.TerminateWorkflow(ctx, sinkWorkflowID(userID("sink", i)), "", "benchmark done")
	})
	return st.err("terminate signal sinks")
}
