package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/require"
)

// Docker cannot run here, so the compose stack is checked by loading it with the compose
// specification's own loader and asserting what each service needs.

var composeEnv = []string{
	"POSTGRES_PASSWORD=pw", "TREEZOR_CLIENT_ID=id", "TREEZOR_CLIENT_SECRET=secret",
	"TREEZOR_WEBHOOK_SECRET=whsec", "QESFLOW_API_KEYS=k1:onboarding,k2:compliance", "TREEZOR_BASE_URL=https://sandbox.example",
	"QESFLOW_CODEC_KEYS=k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "QESFLOW_CODEC_AUTH_TOKENS=codec-token",
}

func loadCompose(t *testing.T, env []string, profiles ...string) (*types.Project, error) {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{"../../docker-compose.yml"},
		cli.WithName("qesflow"), cli.WithWorkingDirectory("../.."), cli.WithEnv(env), cli.WithProfiles(profiles))
	require.NoError(t, err)
	return opts.LoadProject(context.Background())
}

func TestComposeStack(t *testing.T) {
	p, err := loadCompose(t, composeEnv)
	require.NoError(t, err)
	names := p.ServiceNames()
	slices.Sort(names)
	require.Equal(t, []string{"api", "bridge", "certs", "codec", "postgresql", "temporal", "worker"}, names, "the simulator only in the sim profile")

	p, err = loadCompose(t, composeEnv, "sim")
	require.NoError(t, err)
	names = p.ServiceNames()
	slices.Sort(names)
	require.Equal(t, []string{"api", "bridge", "certs", "codec", "postgresql", "sim", "temporal", "worker"}, names)

	wantCommand := map[string]string{"temporal": "server", "worker": "worker", "bridge": "bridge", "api": "api", "sim": "sim", "codec": "codec-server"}
	for name, sub := range wantCommand {
		s := p.Services[name]
		require.Equal(t, types.ShellCommand{sub}, s.Command, name)
		require.Equal(t, "qesflow:local", s.Image, name)
		require.NotNil(t, s.Build, "%s builds the one image", name)
		require.NotNil(t, s.HealthCheck, "%s has a health check", name)
		_, registered := commands[sub]
		require.True(t, registered, "service %s runs subcommand %q, which the binary must have", name, sub)
	}
	require.Equal(t, "postgres:16-alpine", p.Services["postgresql"].Image)
	require.NotNil(t, p.Services["worker"].Deploy)
	require.NotNil(t, p.Services["worker"].Deploy.Replicas)
	require.EqualValues(t, 2, *p.Services["worker"].Deploy.Replicas, "two worker replicas")

	// Published: what authenticates its callers (API keys, signed webhooks, mutual TLS); the
	// UI without login on loopback only; nothing else.
	ports := map[string][]string{}
	for name, s := range p.Services {
		for _, pc := range s.Ports {
			ports[name] = append(ports[name], pc.HostIP+":"+pc.Published+"->"+strconv.Itoa(int(pc.Target)))
		}
	}
	require.ElementsMatch(t, []string{":7233->7233", "127.0.0.1:8233->8233"}, ports["temporal"])
	require.Equal(t, []string{":8080->8080"}, ports["api"])
	require.Equal(t, []string{":8081->8081"}, ports["bridge"])
	require.Empty(t, ports["sim"], "the simulator approves users without auth: never published")
	require.Empty(t, ports["codec"], "the codec endpoint decrypts PII: not published")
	require.Empty(t, ports["worker"], "workers scale out: no fixed host port")

	deps := func(name string) []string {
		var d []string
		for dep, c := range p.Services[name].DependsOn {
			want := "service_healthy"
			if dep == "certs" {
				want = "service_completed_successfully"
			}
			require.Equal(t, want, c.Condition, "%s waits for %s", name, dep)
			d = append(d, dep)
		}
		slices.Sort(d)
		return d
	}
	require.Equal(t, []string{"certs", "postgresql"}, deps("temporal"))
	require.Equal(t, []string{"temporal"}, deps("worker"))
	require.Equal(t, []string{"temporal"}, deps("bridge"))
	require.Equal(t, []string{"temporal"}, deps("api"))

	env := func(name, key string) string {
		v := p.Services[name].Environment[key]
		require.NotNil(t, v, "%s needs %s", name, key)
		return *v
	}
	for _, svc := range []string{"worker", "bridge", "api"} {
		require.Equal(t, "temporal:7233", env(svc, "TEMPORAL_ADDRESS"))
		require.Equal(t, "/certs/client.pem", env(svc, "TEMPORAL_TLS_CERT"), "%s presents the client certificate", svc)
		require.Equal(t, "temporal", env(svc, "TEMPORAL_TLS_SERVER_NAME"))
	}
	require.Equal(t, "/certs/server.pem", env("temporal", "QESFLOW_FRONTEND_TLS_CERT_FILE"))
	require.Equal(t, "/certs/ca.pem", env("temporal", "QESFLOW_FRONTEND_TLS_CA_FILE"))
	require.Nil(t, p.Services["temporal"].Environment["QESFLOW_INSECURE"])
	require.Nil(t, p.Services["codec"].Environment["QESFLOW_CODEC_TRUST_UI_ORIGINS"])
	require.Equal(t, "https://sandbox.example", env("worker", "TREEZOR_BASE_URL"))
	require.Equal(t, "false", env("worker", "TREEZOR_ALLOW_HTTP"))
	for svc, admin := range map[string]string{"api": "QESFLOW_API_ADMIN_ADDR", "bridge": "QESFLOW_BRIDGE_ADMIN_ADDR", "codec": "QESFLOW_CODEC_ADMIN_ADDR", "worker": "QESFLOW_WORKER_METRICS_ADDR"} {
		require.True(t, strings.HasPrefix(env(svc, admin), "127.0.0.1:"), "%s: /readyz and /metrics on loopback", svc)
	}
	require.Equal(t, "secret", env("worker", "TREEZOR_CLIENT_SECRET"))
	require.Equal(t, "whsec", env("bridge", "TREEZOR_WEBHOOK_SECRET"))
	require.Equal(t, "whsec", env("sim", "TREEZOR_WEBHOOK_SECRET"), "the simulator signs with the secret the bridge verifies")
	require.Equal(t, env("worker", "TREEZOR_CLIENT_ID"), env("sim", "TREEZOR_CLIENT_ID"))
	require.Equal(t, "http://bridge:8081/webhooks/treezor", env("sim", "QESFLOW_SIM_WEBHOOK_URL"))
	require.Equal(t, "k1:onboarding,k2:compliance", env("api", "QESFLOW_API_KEYS"))
	require.Contains(t, env("temporal", "QESFLOW_POSTGRES_DSN"), "@postgresql:5432/")
	for _, svc := range []string{"worker", "bridge", "api", "codec"} {
		require.Equal(t, "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", env(svc, "QESFLOW_CODEC_KEYS"),
			"%s shares the payload keyring", svc)
	}
}

// TestComposeNeedsSecrets: a missing secret stops `docker compose up` with a message, rather
// than starting services with empty credentials.
func TestComposeNeedsSecrets(t *testing.T) {
	for _, drop := range []string{"POSTGRES_PASSWORD", "TREEZOR_WEBHOOK_SECRET", "QESFLOW_API_KEYS", "QESFLOW_CODEC_KEYS", "TREEZOR_BASE_URL"} {
		env := slices.DeleteFunc(slices.Clone(composeEnv), func(kv string) bool { return strings.HasPrefix(kv, drop+"=") })
		_, err := loadCompose(t, env)
		require.Error(t, err, "without %s", drop)
		require.Contains(t, err.Error(), drop)
	}
}

// TestComposeEnvVarsAreReal: every QESFLOW_/TREEZOR_/TEMPORAL_ variable the compose file sets is
// one the binary reads, so a renamed flag cannot silently leave the stack misconfigured.
func TestComposeEnvVarsAreReal(t *testing.T) {
	p, err := loadCompose(t, composeEnv, "sim")
	require.NoError(t, err)
	src := readSources(t)
	ours := regexp.MustCompile(`^(QESFLOW|TREEZOR|TEMPORAL)_`)
	for name, s := range p.Services {
		for key := range s.Environment {
			if ours.MatchString(key) {
				require.True(t, strings.Contains(src, `"`+key+`"`), "service %s sets %s, which no qesflow flag reads", name, key)
			}
		}
	}
}

func readSources(t *testing.T) string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	var b strings.Builder
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		b.Write(data)
	}
	return b.String()
}
