// Package helm checks the Helm chart in qesflow/ offline: helm lint and helm template (the
// Helm Go module at a pinned v4 version, built with go install) over a matrix of values, every
// rendered object strictly decoded into the k8s.io/api types, and what matters asserted.
package helm

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/qesflow/qesflow/webhookbridge"
)

// helmModule is the Helm release the chart is checked with.
const helmModule = "helm.sh/helm/v4/cmd/helm@v4.3.2"

const chartDir = "qesflow"

// matrix is every values file the chart is rendered with: the default values (with the
// required Treezor client id) and ci/*.yaml (Temporal Cloud with an API key and with mTLS,
// a self-hosted cluster with and without TLS, ingresses on and off).
func matrix(t *testing.T) map[string][]string {
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*-values.yaml"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 4)
	m := map[string][]string{"defaults": {"--set", "treezor.clientID=qesflow-client"}}
	for _, f := range files {
		m[strings.TrimSuffix(filepath.Base(f), "-values.yaml")] = []string{"-f", f}
	}
	return m
}

var (
	helmOnce sync.Once
	helmBin  string
	helmErr  error
)

// helm runs the pinned Helm on args, built once per test binary into a temporary directory.
func helm(t *testing.T, args ...string) string {
	t.Helper()
	helmOnce.Do(func() {
		dir, err := os.MkdirTemp("", "qesflow-helm-")
		if err != nil {
			helmErr = err
			return
		}
		cmd := exec.Command("go", "install", helmModule)
		cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-buildvcs=false")
		if out, err := cmd.CombinedOutput(); err != nil {
			helmErr = fmt.Errorf("go install %s: %v\n%s", helmModule, err, out)
			return
		}
		helmBin = filepath.Join(dir, "helm")
	})
	require.NoError(t, helmErr)
	cmd := exec.Command(helmBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "helm %s: %s", strings.Join(args, " "), stderr.String())
	return stdout.String()
}

func TestChartLints(t *testing.T) {
	for name, values := range matrix(t) {
		t.Run(name, func(t *testing.T) {
			out := helm(t, append([]string{"lint", "--strict", chartDir}, values...)...)
			require.Contains(t, out, "0 chart(s) failed")
		})
	}
}

// rendered is one chart rendering, decoded.
type rendered struct {
	deployments map[string]*appsv1.Deployment // by component
	services    map[string]*corev1.Service
	ingresses   map[string]*networkingv1.Ingress
	pdbs        []*policyv1.PodDisruptionBudget
	jobs        []*batchv1.Job
	monitors    []*serviceMonitor
}

// serviceMonitor is the Prometheus operator's ServiceMonitor (a CRD, not in k8s.io/api),
// with the fields the chart sets; anything else fails the strict decoding.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port     string `json:"port"`
			Path     string `json:"path"`
			Interval string `json:"interval"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// render runs helm template and strictly decodes every object: an unknown field, a wrong
// type or an unknown kind fails.
func render(t *testing.T, values []string) rendered {
	t.Helper()
	out := helm(t, append([]string{"template", "rel", chartDir, "--namespace", "qesflow"}, values...)...)
	r := rendered{deployments: map[string]*appsv1.Deployment{}, services: map[string]*corev1.Service{}, ingresses: map[string]*networkingv1.Ingress{}}
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(out, -1) {
		if strings.TrimSpace(regexp.MustCompile(`(?m)^#.*$`).ReplaceAllString(doc, "")) == "" {
			continue
		}
		var meta metav1.TypeMeta
		require.NoError(t, yaml.Unmarshal([]byte(doc), &meta))
		decode := func(into any) {
			require.NoError(t, yaml.UnmarshalStrict([]byte(doc), into), "strict decoding of a %s:\n%s", meta.Kind, doc)
		}
		component := func(m metav1.ObjectMeta) string { return m.Labels["app.kubernetes.io/component"] }
		switch meta.APIVersion + " " + meta.Kind {
		case "apps/v1 Deployment":
			var d appsv1.Deployment
			decode(&d)
			r.deployments[component(d.ObjectMeta)] = &d
		case "v1 Service":
			var s corev1.Service
			decode(&s)
			r.services[component(s.ObjectMeta)] = &s
		case "networking.k8s.io/v1 Ingress":
			var i networkingv1.Ingress
			decode(&i)
			r.ingresses[component(i.ObjectMeta)] = &i
		case "policy/v1 PodDisruptionBudget":
			var p policyv1.PodDisruptionBudget
			decode(&p)
			r.pdbs = append(r.pdbs, &p)
		case "batch/v1 Job":
			var j batchv1.Job
			decode(&j)
			r.jobs = append(r.jobs, &j)
		case "monitoring.coreos.com/v1 ServiceMonitor":
			var m serviceMonitor
			decode(&m)
			r.monitors = append(r.monitors, &m)
		default:
			t.Fatalf("the chart renders a %s %s, which this test does not know (a Secret must never be rendered)", meta.APIVersion, meta.Kind)
		}
	}
	return r
}

// secretLike names an environment variable that would carry a secret.
var secretLike = regexp.MustCompile(`SECRET|PASSWORD|TOKEN|API_KEY|_KEYS|_KEY$|_DSN`)

func TestChartRendersWhatMatters(t *testing.T) {
	for name, values := range matrix(t) {
		t.Run(name, func(t *testing.T) {
			r := render(t, values)
			valuesText := strings.Join(values, " ")

			components := []string{"worker", "api", "bridge"}
			if _, ok := r.deployments["codec"]; ok {
				components = append(components, "codec")
			}
			require.Len(t, r.deployments, len(components))
			for _, c := range components {
				d := r.deployments[c]
				require.NotNil(t, d, "deployment %s", c)
				checkPod(t, c, &d.Spec.Template.Spec)
				require.Equal(t, d.Spec.Selector.MatchLabels, subset(d.Spec.Template.Labels, d.Spec.Selector.MatchLabels), "%s selects its pods", c)
				svc := r.services[c]
				require.NotNil(t, svc, "service %s", c)
				require.Equal(t, d.Spec.Selector.MatchLabels, svc.Spec.Selector, "service %s selects the deployment's pods", c)
				for _, p := range svc.Spec.Ports {
					require.True(t, hasPort(d.Spec.Template.Spec.Containers[0], p.TargetPort.String()), "service %s targets port %s", c, p.TargetPort.String())
				}
			}

			// Console session keys, when given, reach the API and the codec as a file, so every
			// API replica opens the sessions of the others.
			for _, c := range []string{"api", "codec"} {
				d, ok := r.deployments[c]
				if !ok {
					continue
				}
				want := ""
				if strings.Contains(valuesText, "selfhosted-values") {
					want = "/secrets/console-session/session-keys"
				}
				require.Equal(t, want, env(d.Spec.Template.Spec.Containers[0], "QESFLOW_CONSOLE_SESSION_KEYS_FILE"), c)
			}

			// The worker gets longer to stop than its own stop timeout.
			w := r.deployments["worker"].Spec.Template.Spec
			stop, err := time.ParseDuration(env(w.Containers[0], "QESFLOW_WORKER_STOP_TIMEOUT"))
			require.NoError(t, err)
			require.Greater(t, time.Duration(*w.TerminationGracePeriodSeconds)*time.Second, stop)
			for _, c := range components {
				require.GreaterOrEqual(t, *r.deployments[c].Spec.Template.Spec.TerminationGracePeriodSeconds, int64(30), c)
			}

			// qesflow setup runs before every install and upgrade.
			require.Len(t, r.jobs, 1)
			job := r.jobs[0]
			hooks := strings.Split(job.Annotations["helm.sh/hook"], ",")
			require.ElementsMatch(t, []string{"pre-install", "pre-upgrade"}, hooks)
			require.Equal(t, []string{"setup"}, job.Spec.Template.Spec.Containers[0].Args)
			_, err = time.ParseDuration(env(job.Spec.Template.Spec.Containers[0], "QESFLOW_RETENTION"))
			require.NoError(t, err, "the chart sets retention explicitly")
			checkPod(t, "setup", &job.Spec.Template.Spec)

			// Every process reaches the same Temporal namespace.
			ns := env(job.Spec.Template.Spec.Containers[0], "TEMPORAL_NAMESPACE")
			for _, c := range []string{"worker", "api", "bridge"} {
				require.Equal(t, ns, env(r.deployments[c].Spec.Template.Spec.Containers[0], "TEMPORAL_NAMESPACE"), c)
			}

			// The bridge's ingress routes the webhook path the bridge serves to the bridge.
			if ing, ok := r.ingresses["bridge"]; ok {
				path := ing.Spec.Rules[0].HTTP.Paths[0]
				require.Equal(t, webhookbridge.Path, path.Path)
				require.Equal(t, r.services["bridge"].Name, path.Backend.Service.Name)
			} else {
				require.Contains(t, valuesText, "cloud-apikey", "only the cloud-apikey values turn the bridge's ingress off")
			}
			for _, p := range r.pdbs {
				require.NotNil(t, p.Spec.MinAvailable)
			}
			for _, m := range r.monitors {
				require.Equal(t, "/metrics", m.Spec.Endpoints[0].Path)
			}
		})
	}
}

// checkPod asserts the pod runs as non-root with a read-only root filesystem, its probes hit
// the paths every qesflow HTTP server serves on a declared port, and every secret arrives as
// a file from a mounted Secret, never as an environment value.
func checkPod(t *testing.T, name string, pod *corev1.PodSpec) {
	t.Helper()
	require.NotNil(t, pod.SecurityContext.RunAsNonRoot, name)
	require.True(t, *pod.SecurityContext.RunAsNonRoot, name)
	secretMounts := map[string]bool{} // mount path of each Secret volume
	secretVolumes := map[string]bool{}
	for _, v := range pod.Volumes {
		if v.Secret != nil {
			secretVolumes[v.Name] = true
		}
	}
	for _, c := range pod.Containers {
		sc := c.SecurityContext
		require.NotNil(t, sc, name)
		require.True(t, *sc.ReadOnlyRootFilesystem, "%s: read-only root filesystem", name)
		require.False(t, *sc.AllowPrivilegeEscalation, name)
		require.True(t, *sc.RunAsNonRoot, name)
		for _, m := range c.VolumeMounts {
			if secretVolumes[m.Name] {
				require.True(t, m.ReadOnly, "%s mounts secret %s read-only", name, m.Name)
				secretMounts[m.MountPath] = true
			}
		}
		for _, e := range c.Env {
			require.Nil(t, e.ValueFrom, "%s: %s comes from a file mount, not valueFrom", name, e.Name)
			if !secretLike.MatchString(e.Name) {
				continue
			}
			require.True(t, strings.HasPrefix(e.Value, "/secrets/"), "%s: %s must name a mounted file, not hold a value", name, e.Name)
			require.True(t, secretMounts[filepath.Dir(e.Value)], "%s: %s=%s is not in a mounted Secret", name, e.Name, e.Value)
		}
		if name == "setup" {
			continue
		}
		for kind, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe} {
			require.NotNil(t, p, "%s %s probe", name, kind)
			require.NotNil(t, p.HTTPGet, "%s %s probe", name, kind)
			want := "/healthz"
			if kind == "readiness" {
				want = "/readyz"
			}
			require.Equal(t, want, p.HTTPGet.Path, "%s %s probe", name, kind)
			require.True(t, hasPort(c, p.HTTPGet.Port.String()), "%s %s probe port %s", name, kind, p.HTTPGet.Port.String())
		}
	}
}

func hasPort(c corev1.Container, port string) bool {
	return slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool {
		return p.Name == port || fmt.Sprint(p.ContainerPort) == port
	})
}

func env(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func subset(all, keys map[string]string) map[string]string {
	out := map[string]string{}
	for k := range keys {
		if v, ok := all[k]; ok {
			out[k] = v
		}
	}
	return out
}
