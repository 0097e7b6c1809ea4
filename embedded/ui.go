package embedded

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
)

// webUI is the Temporal Web UI, served from the assets compiled into the ui-server module.
type webUI struct {
	server  *uiserver.Server
	baseURL string
}

// startUI serves the UI on ip:port for the frontend at frontendAddress and returns once it
// answers. The port was checked free just before; the ui-server exits the process if it
// cannot bind, so nothing else must run between the check and this call.
func startUI(ctx context.Context, ip string, port int, frontendAddress string, cfg Config) (*webUI, error) {
	var frontendTLS uiconfig.TLS
	if cfg.TLS != nil {
		name, err := cfg.TLS.serverName()
		if err != nil {
			return nil, fmt.Errorf("web UI: frontend TLS: %w", err)
		}
		// The UI is a client of the frontend like any other: it presents the server's
		// certificate and verifies the frontend's.
		frontendTLS = uiconfig.TLS{CaFile: cfg.TLS.CAFile, CertFile: cfg.TLS.CertFile, KeyFile: cfg.TLS.KeyFile,
			ServerName: name, EnableHostVerification: true}
	}
	ui := &webUI{
		server: uiserver.NewServer(uioptions.WithConfigProvider(&uiconfig.Config{
			Host:                uiHost(ip),
			Port:                port,
			TemporalGRPCAddress: frontendAddress,
			TLS:                 frontendTLS,
			// The UI has no login: whoever reaches it may read, never start, signal, update,
			// reset or terminate workflows, which would bypass the onboarding API's rules.
			DisableWriteActions:   true,
			StartWorkflowDisabled: true,
			BatchActionsDisabled:  true,
			EnableUI:              true,
			DefaultNamespace:      cfg.Namespace,
			// The browser sends its cookies with the codec requests: the codec endpoint decodes
			// for an operator whose console session cookie comes along (same host, SameSite),
			// and for nobody else without a token.
			Codec: uiconfig.Codec{Endpoint: cfg.UICodecEndpoint, IncludeCredentials: cfg.UICodecEndpoint != ""},
			// Plain HTTP on a developer machine: the CSRF cookie must not require HTTPS.
			CORS:             uiconfig.CORS{CookieInsecure: true},
			HideLogs:         true,
			DisableNewsFetch: true,
		})),
		baseURL: "http://" + hostPort(dialIP(ip), port),
	}
	go func() { _ = ui.server.Start() }()
	if err := ui.waitHealthy(ctx); err != nil {
		ui.stop()
		return nil, err
	}
	return ui, nil
}

// uiHost is ip as the ui-server joins it with a port: IPv6 in brackets.
func uiHost(ip string) string {
	if strings.Contains(ip, ":") {
		return "[" + ip + "]"
	}
	return ip
}

func (u *webUI) waitHealthy(ctx context.Context) error {
	return poll(ctx, "wait for the Web UI", func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.baseURL+"/healthz", nil)
		if err != nil {
			return permanent{err}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /healthz: %s", resp.Status)
		}
		return nil
	})
}

func (u *webUI) stop() {
	if u != nil {
		u.server.Stop()
	}
}
