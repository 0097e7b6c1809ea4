package embedded_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/qesflow/qesflow/embedded"
	"github.com/qesflow/qesflow/workflows"
)

func TestEphemeralServerRunsWorkflowsAndServesUI(t *testing.T) {
	t.Parallel()
	srv := startServer(t, embedded.Config{Ephemeral: true})
	c := dial(t, srv)
	runWorker(t, c)

	requireSearchAttributes(t, c, srv.Namespace())

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    "greet-ephemeral",
		TaskQueue:             testTaskQueue,
		TypedSearchAttributes: qesflowSearchAttributes("user-42"),
	}, greet, "ephemeral")
	require.NoError(t, err)
	var greeting string
	require.NoError(t, run.Get(ctx, &greeting))
	require.Equal(t, "hello ephemeral", greeting)

	// The search attributes are indexed: a visibility query by one of them finds the run.
	require.Eventually(t, func() bool {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: workflows.SATreezorUserID + " = 'user-42' AND " + workflows.SAQESAttempt + " = 1",
		})
		return err == nil && len(resp.GetExecutions()) == 1
	}, testTimeout, 200*time.Millisecond)

	require.True(t, strings.HasPrefix(srv.UIAddress(), "http://127.0.0.1:"), srv.UIAddress())
	page := httpGet(t, srv.UIAddress()+"/")
	require.Equal(t, http.StatusOK, page.status)
	require.Contains(t, page.contentType, "text/html")
	require.Contains(t, strings.ToLower(page.body), "<html")

	// The UI's API proxies to the frontend: the listing shows the completed run.
	require.Eventually(t, func() bool {
		list := httpGet(t, srv.UIAddress()+"/api/v1/namespaces/"+srv.Namespace()+"/workflows")
		return list.status == http.StatusOK &&
			strings.Contains(list.contentType, "application/json") &&
			strings.Contains(list.body, "greet-ephemeral")
	}, testTimeout, 200*time.Millisecond)
}

func TestTwoServersRunSideBySide(t *testing.T) {
	t.Parallel()
	var (
		wg      sync.WaitGroup
		servers [2]*embedded.Server
		errs    [2]error
	)
	for i := range servers {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			servers[i], errs[i] = embedded.Start(ctx, embedded.Config{Ephemeral: true, UIPort: embedded.UIDisabled})
		})
	}
	wg.Wait()
	for i, srv := range servers {
		require.NoError(t, errs[i])
		t.Cleanup(func() { require.NoError(t, srv.Stop()) })
		require.Empty(t, srv.UIAddress())
	}
	require.NotEqual(t, servers[0].FrontendAddress(), servers[1].FrontendAddress())

	for i, srv := range servers {
		c := dial(t, srv)
		runWorker(t, c)
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		name := []string{"first", "second"}[i]
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: testTaskQueue}, greet, name)
		require.NoError(t, err)
		var greeting string
		require.NoError(t, run.Get(ctx, &greeting))
		require.Equal(t, "hello "+name, greeting)
	}
}

func TestDataDirSurvivesRestarts(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	cfg := embedded.Config{DataDir: dir, UIPort: embedded.UIDisabled, NumHistoryShards: 2, Namespace: "qesflow"}

	// First start: a new store with two shards; a run waits for a signal.
	first := startOnce(t, cfg)
	info, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), info.Mode().Perm())
	// The default pragmas put the database in WAL mode.
	require.FileExists(t, filepath.Join(dir, embedded.DatabaseFileName+"-wal"))

	// One server per data directory.
	_, err = embedded.Start(context.Background(), cfg)
	require.ErrorIs(t, err, embedded.ErrDataDirInUse)

	c := dialOnce(t, first)
	startAwaitResume(t, c, "await-restart")
	c.Close()
	require.NoError(t, first.Stop())
	require.NoError(t, first.Stop(), "a second Stop is harmless")
	// The last checkpoint at Stop copied the write-ahead log into the database file.
	if info, err := os.Stat(filepath.Join(dir, embedded.DatabaseFileName+"-wal")); err == nil {
		require.Zero(t, info.Size(), "write-ahead log left after Stop")
	}

	// Second start: 0 accepts the stored shard count; the run resumes and completes.
	cfg.NumHistoryShards = 0
	second := startOnce(t, cfg)
	c = dialOnce(t, second)
	stopWorker := runWorker(t, c)
	require.Equal(t, "resumed with after-restart", resumeAndWait(t, c, "await-restart", "after-restart"))
	stopWorker()
	c.Close()
	require.NoError(t, second.Stop())

	// Third start: a different shard count is refused, and the directory is released.
	cfg.NumHistoryShards = 1
	_, err = embedded.Start(context.Background(), cfg)
	require.ErrorIs(t, err, embedded.ErrShardCountMismatch)

	// Fourth start: the matching count works; the history is intact and the search
	// attributes are registered once, not again.
	cfg.NumHistoryShards = 2
	fourth := startServer(t, cfg)
	c = dial(t, fourth)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	desc, err := c.DescribeWorkflowExecution(ctx, "await-restart", "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, desc.GetWorkflowExecutionInfo().GetStatus())
	requireSearchAttributes(t, c, fourth.Namespace())
	ns, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "qesflow"})
	require.NoError(t, err)
	require.Len(t, ns.GetConfig().GetCustomSearchAttributeAliases(), len(workflows.SearchAttributeTypes()))
	require.Equal(t, embedded.DefaultRetention, ns.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration())
}

func TestRetentionIsAppliedToExistingNamespace(t *testing.T) {
	t.Parallel()
	cfg := embedded.Config{DataDir: t.TempDir(), UIPort: embedded.UIDisabled}
	first := startOnce(t, cfg)
	require.Equal(t, embedded.DefaultRetention, namespaceRetention(t, first))
	require.NoError(t, first.Stop())

	// Also: a pool of connections on the WAL file, every commit synced.
	cfg.Retention = 72 * time.Hour
	cfg.SQLiteMaxConns = 4
	cfg.SQLitePragmas = map[string]string{"synchronous": "full"}
	second := startServer(t, cfg)
	c := dial(t, second)
	runWorker(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: testTaskQueue}, greet, "pool")
	require.NoError(t, err)
	require.NoError(t, run.Get(ctx, nil))
	require.Equal(t, 72*time.Hour, namespaceRetention(t, second))
}

func TestTakenPortIsReportedBeforeStarting(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port

	tests := []struct {
		name    string
		cfg     embedded.Config
		purpose string
	}{
		{"frontend", embedded.Config{Ephemeral: true, FrontendPort: port}, embedded.PurposeFrontend},
		{"UI", embedded.Config{Ephemeral: true, UIPort: port}, embedded.PurposeUI},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.cfg.Ephemeral = false
			tt.cfg.DataDir = dir
			_, err := embedded.Start(context.Background(), tt.cfg)
			var inUse *embedded.PortInUseError
			require.ErrorAs(t, err, &inUse)
			require.Equal(t, embedded.PortInUseError{Purpose: tt.purpose, Port: port}, *inUse)
			require.EqualError(t, err, tt.purpose+" port "+strconv.Itoa(port)+" is already in use")

			// Refused before the store is touched.
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Empty(t, entries)
		})
	}
}

func TestInvalidConfigIsRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name string
		cfg  embedded.Config
		want string
	}{
		{"no persistence", embedded.Config{}, "exactly one of DataDir, Ephemeral and PostgresDSN"},
		{"two persistences", embedded.Config{DataDir: dir, Ephemeral: true}, "exactly one of"},
		{"bad IP", embedded.Config{Ephemeral: true, FrontendIP: "localhost"}, `frontend IP "localhost"`},
		{"bad frontend port", embedded.Config{Ephemeral: true, FrontendPort: 70000}, "frontend port 70000"},
		{"bad UI port", embedded.Config{Ephemeral: true, UIPort: -2}, "UI port -2"},
		{"shared port", embedded.Config{Ephemeral: true, FrontendPort: 7233, UIPort: 7233}, "share port 7233"},
		{"unknown pragma", embedded.Config{DataDir: dir, SQLitePragmas: map[string]string{"writable_schema": "on"}}, `pragma "writable_schema" is not supported`},
		{"pragma injection", embedded.Config{DataDir: dir, SQLitePragmas: map[string]string{"synchronous": "off&mode=ro"}}, "invalid value"},
		{"pragmas on postgres", embedded.Config{PostgresDSN: "postgres://u@h/db", SQLitePragmas: map[string]string{"synchronous": "full"}}, "do not apply to PostgreSQL"},
		{"pool without WAL", embedded.Config{DataDir: dir, SQLiteMaxConns: 4, SQLitePragmas: map[string]string{"Journal_Mode": "delete"}}, "needs journal_mode=wal"},
		{"log level", embedded.Config{Ephemeral: true, LogLevel: "loud"}, `log level "loud"`},
		{"negative shards", embedded.Config{Ephemeral: true, NumHistoryShards: -1}, "shard count -1"},
		{"bad DSN", embedded.Config{PostgresDSN: "mysql://h/db"}, `scheme "mysql"`},
		{"bad database name", embedded.Config{PostgresDSN: "postgres://u:secret@h/Bad-Name"}, `database name "Bad-Name"`},
		{"open frontend", embedded.Config{Ephemeral: true, FrontendIP: "0.0.0.0"}, "not a loopback address: configure TLS"},
		{"TLS without CA", embedded.Config{Ephemeral: true, TLS: &embedded.TLS{CertFile: "c.pem", KeyFile: "k.pem"}}, "client CA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := embedded.Start(context.Background(), tt.cfg)
			require.Nil(t, srv)
			require.ErrorContains(t, err, tt.want)
			require.NotContains(t, err.Error(), "secret", "errors never repeat a password")
		})
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries, "a refused config creates nothing")
}

// requireSearchAttributes checks that the namespace lists exactly qesflow's custom attributes.
func requireSearchAttributes(t *testing.T, c client.Client, namespace string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	require.NoError(t, err)
	require.Equal(t, workflows.SearchAttributeTypes(), resp.GetCustomAttributes())
}

func namespaceRetention(t *testing.T, srv *embedded.Server) time.Duration {
	t.Helper()
	c := dialOnce(t, srv)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	ns, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: srv.Namespace()})
	require.NoError(t, err)
	return ns.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration()
}

// startOnce starts a server the test stops itself.
func startOnce(t *testing.T, cfg embedded.Config) *embedded.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	srv, err := embedded.Start(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	return srv
}

// dialOnce returns a client the test closes itself.
func dialOnce(t *testing.T, srv *embedded.Server) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: srv.FrontendAddress(), Namespace: srv.Namespace(), Logger: quietSDKLogger()})
	require.NoError(t, err)
	return c
}

type httpResponse struct {
	status      int
	contentType string
	body        string
}

func httpGet(t *testing.T, url string) httpResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return httpResponse{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: string(body)}
}
