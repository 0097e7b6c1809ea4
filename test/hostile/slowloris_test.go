package hostile

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/qesflow/qesflow/internal/httpserver"
	"github.com/qesflow/qesflow/starter"
	"github.com/qesflow/qesflow/webhookbridge"
)

// trickleEvery is the pause between two bytes of a slow client.
const trickleEvery = 200 * time.Millisecond

// slowLimit is how long a slow client keeps trickling before it gives up: twice the default
// ReadTimeout, so a server with any read timeout in force cuts it off first.
const slowLimit = 2 * httpserver.DefaultReadTimeout

// slowResult is what a slow client saw.
type slowResult struct {
	closed  bool          // the server closed the connection (or reset it)
	answer  string        // the status line the server answered with, if any
	rest    string        // the rest of the answer (headers and body), at most 4 KiB
	elapsed time.Duration // from the first byte sent to the close
	err     error
}

// startSlowHeaders opens a connection to baseURL and sends a request line and then one header
// line after another, slowly, never ending the headers; the result arrives once the server
// closes the connection or slowLimit passes.
func startSlowHeaders(t *testing.T, baseURL, path string) <-chan slowResult {
	t.Helper()
	conn := dial(t, baseURL)
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\n", path, hostOf(t, baseURL))
	lines := func(i int) string { return fmt.Sprintf("X-Slow-%d: %d\r\n", i, i) }
	return trickle(conn, head, lines)
}

// startSlowBody sends complete headers announcing a body, then the body one byte at a time.
func startSlowBody(t *testing.T, baseURL, path string, header map[string]string) <-chan slowResult {
	t.Helper()
	conn := dial(t, baseURL)
	var b strings.Builder
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n", path, hostOf(t, baseURL))
	for k, v := range header {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	b.WriteString("\r\n{")
	return trickle(conn, b.String(), func(int) string { return " " })
}

// trickle writes head, then next(i) every trickleEvery, while reading whatever the server
// answers, until the server closes the connection or slowLimit passes.
func trickle(conn net.Conn, head string, next func(int) string) <-chan slowResult {
	out := make(chan slowResult, 1)
	start := time.Now()
	done := make(chan struct{})
	var res slowResult
	var once sync.Once
	finish := func() { once.Do(func() { close(done) }) }
	go func() { // reader: an answer, then EOF, or an error, means the server is done with us
		r := bufio.NewReader(conn)
		line, err := r.ReadString('\n')
		if err == nil {
			res.answer = strings.TrimSpace(line)
			var rest []byte
			rest, err = io.ReadAll(io.LimitReader(r, 4<<10))
			res.rest = string(rest)
		}
		res.closed = err == nil || err == io.EOF || isReset(err)
		res.err = err
		res.elapsed = time.Since(start)
		finish()
	}()
	go func() { // writer
		defer conn.Close()
		defer func() { out <- res }()
		if _, err := io.WriteString(conn, head); err != nil {
			<-done
			return
		}
		tick := time.NewTicker(trickleEvery)
		defer tick.Stop()
		deadline := time.After(slowLimit)
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			case <-deadline:
				_ = conn.SetReadDeadline(time.Now()) // stop the reader; res.closed stays false
				<-done
				res.closed = false
				return
			case <-tick.C:
				if _, err := io.WriteString(conn, next(i)); err != nil {
					<-done // the server closed it; let the reader report
					return
				}
			}
		}
	}()
	return out
}

func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe"))
}

func dial(t *testing.T, baseURL string) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", hostOf(t, baseURL), callTimeout)
	require.NoError(t, err)
	return conn
}

func hostOf(t *testing.T, baseURL string) string {
	t.Helper()
	u, err := url.Parse(baseURL)
	require.NoError(t, err)
	return u.Host
}

// refusingTemporal stands in for Temporal behind servers that must never reach it: any call
// fails the test.
type refusingTemporal struct{ t *testing.T }

func (r refusingTemporal) fail(call string) error {
	r.t.Errorf("a slow client's request reached Temporal (%s)", call)
	return serviceerror.NewUnavailable("refusing stub")
}

func (r refusingTemporal) SignalWorkflow(context.Context, string, string, string, any) error {
	return r.fail("SignalWorkflow")
}

func (r refusingTemporal) UpdateWorkflow(context.Context, client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	return nil, r.fail("UpdateWorkflow")
}

func (r refusingTemporal) ListWorkflow(context.Context, *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	return nil, r.fail("ListWorkflow")
}

func (r refusingTemporal) NewWithStartWorkflowOperation(client.StartWorkflowOptions, any, ...any) client.WithStartWorkflowOperation {
	_ = r.fail("NewWithStartWorkflowOperation")
	return nil
}

func (r refusingTemporal) UpdateWithStartWorkflow(context.Context, client.UpdateWithStartWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	return nil, r.fail("UpdateWithStartWorkflow")
}

func (r refusingTemporal) DescribeWorkflowExecution(context.Context, string, string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	return nil, r.fail("DescribeWorkflowExecution")
}

func (r refusingTemporal) GetWorkflow(context.Context, string, string) client.WorkflowRun {
	_ = r.fail("GetWorkflow")
	return nil
}

func (r refusingTemporal) QueryWorkflow(context.Context, string, string, string, ...any) (converter.EncodedValue, error) {
	return nil, r.fail("QueryWorkflow")
}

func (r refusingTemporal) CheckHealth(context.Context, *client.CheckHealthRequest) (*client.CheckHealthResponse, error) {
	return &client.CheckHealthResponse{}, nil
}

// serveShortTimeouts serves handler behind internal/httpserver with the short timeouts a
// test can wait for (the real stack uses the defaults: 10 s for headers, 30 s per request).
func serveShortTimeouts(t *testing.T, name string, handler http.Handler) string {
	t.Helper()
	srv := httpserver.New(httpserver.Options{
		Name: name, Addr: "127.0.0.1:0", Handler: handler,
		ReadHeaderTimeout: 300 * time.Millisecond, ReadTimeout: time.Second, WriteTimeout: 5 * time.Second,
	})
	require.NoError(t, srv.Listen())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return "http://" + srv.Addr()
}

// TestSlowClientsAreCutOff proves the slow-loris defence on the real bridge and API handlers
// behind internal/httpserver with short timeouts: a client that never finishes its headers
// is disconnected without an answer, one that sends its body too slowly gets 400, nothing
// reaches Temporal, and the server keeps serving.
func TestSlowClientsAreCutOff(t *testing.T) {
	stub := refusingTemporal{t: t}
	bridge, err := webhookbridge.New(webhookbridge.Config{Secrets: []string{"whsec_test"}, Temporal: stub})
	require.NoError(t, err)
	api, err := starter.New(starter.Config{Temporal: stub, Keys: map[string]starter.Scope{"test-key-1-6f2c9a4e8b1d7f3a5c0e9b2d": starter.ScopeOnboarding}})
	require.NoError(t, err)
	servers := []struct {
		name, path string
		handler    http.Handler
		header     map[string]string
	}{
		{"bridge", webhookbridge.Path, bridge, nil},
		{"api", "/v1/onboardings", api, map[string]string{"Authorization": "Bearer test-key-1-6f2c9a4e8b1d7f3a5c0e9b2d"}},
	}
	for _, sv := range servers {
		t.Run(sv.name, func(t *testing.T) {
			base := serveShortTimeouts(t, sv.name, sv.handler)
			headers := startSlowHeaders(t, base, sv.path)
			body := startSlowBody(t, base, sv.path, sv.header)

			h := <-headers
			require.True(t, h.closed, "slow headers were not cut off within %s (%v)", h.elapsed, h.err)
			require.Empty(t, h.answer, "the server answered a request whose headers never ended")

			b := <-body
			require.True(t, b.closed, "a slow body was not cut off within %s (%v)", b.elapsed, b.err)
			require.Equal(t, "HTTP/1.1 400 Bad Request", b.answer, "%s", b.rest)
			require.NotContains(t, b.rest, "127.0.0.1", "the answer names socket addresses")
			t.Logf("slow body answered after %s: %s %s", b.elapsed.Round(time.Millisecond), b.answer, b.rest[strings.Index(b.rest, "\r\n\r\n")+4:])

			requireServing(t, base)
		})
	}
}
