package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/worker"
)

// The image builds with the Go of go.mod, not whatever golang:1.26 points at today.
func TestDockerfileGoMatchesGoMod(t *testing.T) {
	mod, err := os.ReadFile("../../go.mod")
	require.NoError(t, err)
	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(mod)
	require.NotNil(t, goVersion)
	want := string(goVersion[1])
	if tc := regexp.MustCompile(`(?m)^toolchain go(\S+)$`).FindSubmatch(mod); tc != nil {
		want = string(tc[1])
	}
	docker, err := os.ReadFile("../../Dockerfile")
	require.NoError(t, err)
	from := regexp.MustCompile(`(?m)^FROM golang:(\S+) AS build$`).FindSubmatch(docker)
	require.NotNil(t, from, "the build stage is FROM golang:<version> AS build")
	require.Equal(t, want, string(from[1]))
}

// The build context never carries the compose stack's secrets.
func TestDockerignoreExcludesDotEnv(t *testing.T) {
	b, err := os.ReadFile("../../.dockerignore")
	require.NoError(t, err)
	lines := strings.Split(string(b), "\n")
	require.Contains(t, lines, ".env")
}

// Compose gives every qesflow container longer to stop than the worker's stop timeout, sets
// retention explicitly, and passes the PostgreSQL password apart from the DSN.
func TestComposeStopGraceAndRetention(t *testing.T) {
	p, err := loadCompose(t, composeEnv, "sim")
	require.NoError(t, err)
	for _, name := range []string{"worker", "bridge", "api", "temporal", "codec", "sim"} {
		grace := p.Services[name].StopGracePeriod
		require.NotNil(t, grace, "%s sets stop_grace_period", name)
		require.Greater(t, time.Duration(*grace), worker.DefaultStopTimeout, name)
	}
	temporal := p.Services["temporal"].Environment
	require.NotNil(t, temporal["QESFLOW_RETENTION"])
	_, err = time.ParseDuration(*temporal["QESFLOW_RETENTION"])
	require.NoError(t, err, "QESFLOW_RETENTION is a Go duration")
	require.Equal(t, "pw", *temporal["QESFLOW_POSTGRES_PASSWORD"])
	require.NotContains(t, *temporal["QESFLOW_POSTGRES_DSN"], "pw")
	require.Equal(t, *p.Services["worker"].Environment["TREEZOR_BASE_URL"], *p.Services["api"].Environment["TREEZOR_BASE_URL"], "the API reads the Treezor the workers call")
}
