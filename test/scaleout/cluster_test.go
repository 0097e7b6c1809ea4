package scaleout

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/qesflow/qesflow/workflows"
)

const (
	namespace       = "default"
	historyShards   = 4
	readyTimeout    = 3 * time.Minute
	treezorClientID = "scaleout"
)

// cluster is the scaled-out stack, one OS process per part, all on loopback.
type cluster struct {
	t            *testing.T
	bin, dir     string
	started      []*process // in start order
	logLevel     string
	temporalAddr string
	server       *process
	sim          *process
	api          *process
	workers      []*node
	bridges      []*node
	simURL       string
	apiURL       string
	// API keys: onboarding scope, compliance scope.
	onboardingKey, complianceKey string
}

// node is a worker or a bridge: its process and the base URL of its HTTP listener (the
// worker's is /healthz, /readyz and /metrics only).
type node struct {
	*process
	url string
}

// start runs one process of the cluster.
func (c *cluster) start(name string, args []string, env map[string]string) *process {
	c.t.Helper()
	args = append(args, "--log-level", c.logLevel, "--log-format", "json")
	p := startProcess(c.t, c.bin, c.dir, name, args, env)
	c.started = append(c.started, p)
	return p
}

// stop reports the processes if the test failed, then stops them, the last started first.
func (c *cluster) stop() {
	if c.t.Failed() {
		c.t.Logf("processes:\n%s", c.report())
	}
	for i := len(c.started) - 1; i >= 0; i-- {
		c.started[i].stop(15 * time.Second)
	}
}

// report returns the state and log tail of every process.
func (c *cluster) report() string {
	var b strings.Builder
	for _, p := range c.started {
		fmt.Fprintf(&b, "---- %s (%s), last lines of %s:\n%s\n", p.name, p.status(), p.logPath, p.tail(25))
	}
	return b.String()
}

// buildBinary builds cmd/qesflow into dir once per test.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "qesflow")
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool is needed to build qesflow: %v", err)
	}
	cmd := exec.Command(goTool, "build", "-o", bin, "github.com/qesflow/qesflow/cmd/qesflow")
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build qesflow: %v\n%s", err, out)
	}
	return bin
}

// secrets are the credentials the processes share, all random.
type secrets struct {
	treezorClient, webhook string
	codecKeys              string // QESFLOW_CODEC_KEYS: every worker, bridge and API of a namespace shares them
}

func newSecrets() secrets {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // never fails (crypto/rand)
	return secrets{treezorClient: rand.Text(), webhook: rand.Text(), codecKeys: "k1:" + base64.StdEncoding.EncodeToString(key)}
}

// startCluster starts the Temporal server on dsn, then the simulator, two bridges, two
// workers and the API, and waits until each is ready.
func startCluster(t *testing.T, bin, dir, dsn string) *cluster {
	t.Helper()
	c := &cluster{t: t, bin: bin, dir: dir, logLevel: os.Getenv("QESFLOW_SCALEOUT_LOG_LEVEL"),
		onboardingKey: "onb-" + rand.Text() + rand.Text(), complianceKey: "cmp-" + rand.Text() + rand.Text()}
	if c.logLevel == "" {
		c.logLevel = "warn"
	}
	t.Cleanup(c.stop)
	sec := newSecrets()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()

	temporalPort := freePort(t)
	c.temporalAddr = "127.0.0.1:" + strconv.Itoa(temporalPort)
	c.server = c.start("server", []string{"server",
		"--frontend-ip", "127.0.0.1", "--temporal-port", strconv.Itoa(temporalPort), "--ui-port", "-1",
		"--num-history-shards", strconv.Itoa(historyShards), "--namespace", namespace, "--server-log-level", "warn"},
		map[string]string{"QESFLOW_POSTGRES_DSN": dsn})
	if err := waitTemporal(ctx, c.server, c.temporalAddr); err != nil {
		t.Fatalf("temporal server: %v", err)
	}

	simPort, bridgePorts := freePort(t), []int{freePort(t), freePort(t)}
	c.simURL = "http://127.0.0.1:" + strconv.Itoa(simPort)
	var webhookURLs []string
	for _, port := range bridgePorts {
		webhookURLs = append(webhookURLs, fmt.Sprintf("http://127.0.0.1:%d/webhooks/treezor", port))
	}
	c.sim = c.start("sim", []string{"sim",
		"--addr", "127.0.0.1:" + strconv.Itoa(simPort), "--public-url", c.simURL, "--client-id", treezorClientID,
		// Both bridges, no load balancer: webhooks take turns, and a retry goes to the other bridge.
		"--webhook-url", strings.Join(webhookURLs, ","),
		"--webhook-retry-interval", "250ms", "--webhook-max-attempts", "240", "--webhook-timeout", "15s"},
		map[string]string{"TREEZOR_CLIENT_SECRET": sec.treezorClient, "TREEZOR_WEBHOOK_SECRET": sec.webhook})

	temporalFlags := []string{"--temporal-address", c.temporalAddr, "--namespace", namespace}
	for i, port := range bridgePorts {
		p := c.start(fmt.Sprintf("bridge-%d", i+1), append([]string{"bridge",
			// Readiness and metrics on the bridge's own port (two bridges share the host).
			"--addr", "127.0.0.1:" + strconv.Itoa(port), "--admin-addr", ""}, temporalFlags...),
			map[string]string{"TREEZOR_WEBHOOK_SECRET": sec.webhook, "QESFLOW_CODEC_KEYS": sec.codecKeys})
		c.bridges = append(c.bridges, &node{process: p, url: "http://127.0.0.1:" + strconv.Itoa(port)})
	}
	for i := range 2 {
		port := freePort(t)
		p := c.start(fmt.Sprintf("worker-%d", i+1), append([]string{"worker",
			"--metrics-addr", "127.0.0.1:" + strconv.Itoa(port),
			"--treezor-base-url", c.simURL, "--treezor-client-id", treezorClientID,
			"--document-dir", filepath.Join(dir, fmt.Sprintf("documents-%d", i+1))}, temporalFlags...),
			map[string]string{"TREEZOR_CLIENT_SECRET": sec.treezorClient, "QESFLOW_CODEC_KEYS": sec.codecKeys})
		c.workers = append(c.workers, &node{process: p, url: "http://127.0.0.1:" + strconv.Itoa(port)})
	}
	apiPort := freePort(t)
	c.apiURL = "http://127.0.0.1:" + strconv.Itoa(apiPort)
	c.api = c.start("api", append([]string{"api",
		"--addr", "127.0.0.1:" + strconv.Itoa(apiPort), "--admin-addr", "",
		"--retry-backoff", "1s"}, temporalFlags...), // a new attempt one second after an abort, not one minute
		map[string]string{"QESFLOW_API_KEYS": c.onboardingKey + ":onboarding," + c.complianceKey + ":compliance",
			"QESFLOW_CODEC_KEYS": sec.codecKeys})

	if err := waitReady(ctx, c.sim, c.simURL+"/"); err != nil {
		t.Fatalf("sim: %v", err)
	}
	if err := waitReady(ctx, c.api, c.apiURL+"/readyz"); err != nil {
		t.Fatalf("api: %v", err)
	}
	for _, n := range append(append([]*node{}, c.bridges...), c.workers...) {
		if err := waitReady(ctx, n.process, n.url+"/readyz"); err != nil {
			t.Fatalf("%s: %v", n.name, err)
		}
	}
	return c
}

// waitTemporal waits until the frontend at addr answers and the namespace has qesflow's
// search attributes (qesflow server registers them on start).
func waitTemporal(ctx context.Context, p *process, addr string) error {
	quiet := sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	var last error
	for {
		if p.exited() {
			return fmt.Errorf("%s before it was ready", p.status())
		}
		last = temporalReady(ctx, addr, quiet)
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready at %s: %w", addr, last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func temporalReady(ctx context.Context, addr string, logger sdklog.Logger) error {
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := client.DialContext(dctx, client.Options{HostPort: addr, Namespace: namespace, Logger: logger})
	if err != nil {
		return err
	}
	defer c.Close()
	// The frontend answers before the namespace knows the search attributes; a visibility
	// query naming them all succeeds once workflows can be started with them (as
	// embedded.Start waits before qesflow server reports ready).
	_, err = c.ListWorkflow(dctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: namespace, PageSize: 1, Query: searchAttributesQuery})
	return err
}

// searchAttributesQuery names every search attribute of qesflow.
var searchAttributesQuery = strings.Join([]string{
	workflows.SATreezorUserID + " = 'ready'", workflows.SAQESState + " = 'ready'",
	workflows.SAQESIdentificationID + " = 'ready'", workflows.SAKYCReview + " = 'ready'",
	workflows.SAQESAttempt + " = 0", workflows.SAQESReasonCode + " = 0",
}, " AND ")

// waitReady polls url until it answers 2xx; it gives up when the process exits.
func waitReady(ctx context.Context, p *process, url string) error {
	var last string
	for {
		if p.exited() {
			return fmt.Errorf("%s before it was ready", p.status())
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %s", url, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
