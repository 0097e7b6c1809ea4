package devstack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/qesflow/qesflow/outbound"
)

// EventsPath is where the dev stack's API serves its events receiver: POST receives a
// delivery, GET shows the page of the events received.
const EventsPath = "/dev/events"

// eventsKept bounds how many verified events the page remembers.
const eventsKept = 200

// maxEventBody bounds one delivery's body.
const maxEventBody = 1 << 20

// receivedEvent is one verified delivery as the page shows it.
type receivedEvent struct {
	Received  time.Time
	WebhookID string
	Type      string
	UserID    string
	Payload   string // the body, indented
}

// eventsReceiver plays the onboarding backend of the dev stack: it verifies each delivery
// with the Standard Webhooks library, keeps the last verified events in memory and lists
// them on a page, so a developer sees what a backend would receive.
type eventsReceiver struct {
	wh *standardwebhooks.Webhook

	mu      sync.Mutex
	events  []receivedEvent // oldest first, at most eventsKept
	refused int
}

func newEventsReceiver(secret string) (*eventsReceiver, error) {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return nil, err
	}
	return &eventsReceiver{wh: wh}, nil
}

func (r *eventsReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch req.Method {
	case http.MethodPost:
		r.receive(w, req)
	case http.MethodGet, http.MethodHead:
		// The page shows identification URLs and has no sign-in: this machine only, even when
		// the dev stack listens beyond loopback.
		if !fromLoopback(req) {
			http.Error(w, "the events page is served to this machine only", http.StatusForbidden)
			return
		}
		r.page(w)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// fromLoopback reports whether req came from a loopback address.
func fromLoopback(req *http.Request) bool {
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// receive verifies one delivery: 401 when its signature does not verify, 400 when its body
// is no event, 204 otherwise. A retry (same webhook-id) is accepted and listed once.
func (r *eventsReceiver) receive(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxEventBody))
	if err != nil {
		r.refuse()
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	if err := r.wh.Verify(body, req.Header); err != nil {
		r.refuse()
		http.Error(w, "signature does not verify", http.StatusUnauthorized)
		return
	}
	var ev outbound.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		r.refuse()
		http.Error(w, "body is no event", http.StatusBadRequest)
		return
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, body, "", "  "); err != nil {
		pretty.Reset()
		pretty.Write(body)
	}
	e := receivedEvent{Received: time.Now().UTC(), WebhookID: req.Header.Get(standardwebhooks.HeaderWebhookID),
		Type: ev.Type, UserID: ev.Data.UserID, Payload: pretty.String()}
	r.mu.Lock()
	defer r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
	for _, old := range r.events {
		if old.WebhookID == e.WebhookID {
			return
		}
	}
	r.events = append(r.events, e)
	if len(r.events) > eventsKept {
		r.events = append(r.events[:0:0], r.events[len(r.events)-eventsKept:]...)
	}
}

func (r *eventsReceiver) refuse() {
	r.mu.Lock()
	r.refused++
	r.mu.Unlock()
}

// snapshot returns the kept events newest first and the count of refused deliveries.
func (r *eventsReceiver) snapshot() ([]receivedEvent, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]receivedEvent, len(r.events))
	for i, e := range r.events {
		out[len(out)-1-i] = e
	}
	return out, r.refused
}

func (r *eventsReceiver) page(w http.ResponseWriter) {
	events, refused := r.snapshot()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	_ = eventsPage.Execute(w, struct {
		Events  []receivedEvent
		Refused int
		Kept    int
	}{events, refused, eventsKept})
}

var eventsPage = template.Must(template.New("events").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>qesflow dev: events received</title>
<meta http-equiv="refresh" content="5">
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;vertical-align:top;text-align:left}pre{margin:0;font-size:.85em}</style>
</head><body>
<h1>Events received</h1>
<p>The signed onboarding events the dev stack's worker delivered here, as a backend would receive them, newest first (the last {{.Kept}}).
Each one's Standard Webhooks signature was verified.</p>
<p>Refused deliveries (signature did not verify): <strong id="refused">{{.Refused}}</strong></p>
{{if .Events}}<table>
<thead><tr><th>Received (UTC)</th><th>webhook-id</th><th>Type</th><th>User</th><th>Payload</th></tr></thead>
<tbody>{{range .Events}}
<tr class="event"><td>{{.Received.Format "2006-01-02 15:04:05"}}</td><td><code>{{.WebhookID}}</code></td><td class="type">{{.Type}}</td><td class="user">{{.UserID}}</td><td><pre>{{.Payload}}</pre></td></tr>{{end}}
</tbody></table>{{else}}<p>No event yet: start an onboarding.</p>{{end}}
</body></html>
`))

// devEventsSender signs the events with secret and delivers them to the receiver at url,
// under the endpoint name "dev"; deliveries are counted in reg.
func devEventsSender(url, secret string, reg prometheus.Registerer) (*outbound.Sender, error) {
	secrets, err := outbound.ParseSecrets(secret)
	if err != nil {
		return nil, fmt.Errorf("dev events secret: %w", err)
	}
	eps, err := outbound.ParseEndpoints("dev=" + url)
	if err != nil {
		return nil, fmt.Errorf("dev events endpoint: %w", err)
	}
	observe, err := outbound.DeliveryCounter(reg)
	if err != nil {
		return nil, err
	}
	return outbound.NewSender(outbound.Config{Endpoints: eps, Secrets: secrets, Observe: observe})
}
