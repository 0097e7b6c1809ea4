package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/bench"
)

func TestBenchFlags(t *testing.T) {
	t.Setenv("QESFLOW_BENCH_FLOWS", "300")
	var stderr bytes.Buffer
	f, err := parseBenchFlags([]string{"--parked", "50", "--skip-untuned", "--out", ""}, &stderr)
	require.NoError(t, err)
	require.Equal(t, 300, f.cfg.Flows, "from the environment")
	require.Equal(t, 50, f.cfg.Parked)
	require.True(t, f.cfg.SkipUntuned)
	require.Equal(t, bench.DefaultConcurrency, f.cfg.Concurrency)
	require.Empty(t, f.out)
	require.False(t, f.cfg.SkipNoCache, "the statement cache's before/after runs by default")
	require.False(t, f.cfg.SkipBaselineConfig, "the baseline configuration's full path runs by default")
	require.Zero(t, f.cfg.GCPercent, "the default GC target is the product's")

	t.Setenv("QESFLOW_GOGC", "400")
	f, err = parseBenchFlags([]string{"--skip-no-cache"}, &stderr)
	require.NoError(t, err)
	require.True(t, f.cfg.SkipNoCache)
	require.False(t, f.cfg.SkipBaselineConfig)
	f, err = parseBenchFlags([]string{"--skip-baseline-config"}, &stderr)
	require.NoError(t, err)
	require.True(t, f.cfg.SkipBaselineConfig)
	require.False(t, f.cfg.SkipNoCache)
	require.Equal(t, 400, f.cfg.GCPercent, "from the environment")

	_, err = parseBenchFlags([]string{"--flows", "1", "--concurrency", "-2"}, &stderr)
	require.ErrorContains(t, err, "flows must be at least 2, got 1")
	require.ErrorContains(t, err, "concurrency must be at least 1, got -2")
}

func TestBenchBareProfileNeedsAdjacentSegments(t *testing.T) {
	var stderr bytes.Buffer
	_, err := parseBenchFlags([]string{"--cpuprofile-bare", "/tmp/bare.prof"}, &stderr)
	require.ErrorContains(t, err, "use it with --skip-untuned")
	_, err = parseBenchFlags([]string{"--cpuprofile-bare", "/tmp/bare.prof", "--skip-untuned", "--skip-throughput"}, &stderr)
	require.ErrorContains(t, err, "without --skip-throughput")
	_, err = parseBenchFlags([]string{"--cpuprofile-bare", "/tmp/bare.prof", "--skip-untuned"}, &stderr)
	require.ErrorContains(t, err, "--skip-no-cache")
	f, err := parseBenchFlags([]string{"--cpuprofile-bare", "/tmp/bare.prof", "--skip-untuned", "--skip-no-cache", "--cpuprofile-bridge", "/tmp/b.prof"}, &stderr)
	require.NoError(t, err)
	require.Equal(t, "/tmp/bare.prof", f.bareCPUProfile)
	require.Equal(t, "/tmp/b.prof", f.bridgeCPUProfile)
}

func TestBenchRejectsBadLogLevelBeforeRunning(t *testing.T) {
	var out, stderr bytes.Buffer
	err := runBench(context.Background(), []string{"--log-level", "loud", "--data-dir", t.TempDir()}, &out, &stderr)
	require.ErrorContains(t, err, `log level "loud"`)
	require.Empty(t, out.String())
}

func TestQuoteArgs(t *testing.T) {
	require.Equal(t, `--flows 10 --out '' --note 'what else ran'`,
		quoteArgs([]string{"--flows", "10", "--out", "", "--note", "what else ran"}))
}
