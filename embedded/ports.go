package embedded

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
)

// Port purposes, as named in a PortInUseError.
const (
	PurposeFrontend     = "frontend"
	PurposeFrontendHTTP = "frontend HTTP"
	PurposeHistory      = "history"
	PurposeMatching     = "matching"
	PurposeWorker       = "worker"
	PurposeUI           = "UI"
)

// PortInUseError reports that a port the server must listen on is taken.
type PortInUseError struct {
	Purpose string // PurposeFrontend, PurposeUI, ...
	Port    int
}

func (e *PortInUseError) Error() string {
	return fmt.Sprintf("%s port %d is already in use", e.Purpose, e.Port)
}

// ports are the TCP ports of one server: frontend and UI on the frontend IP, the internal
// services on loopback.
type ports struct {
	frontend, frontendHTTP, history, matching, worker int
	ui                                                int // 0 when the UI is disabled
}

// portRequest is a port to check (fixed > 0) or to choose (0).
type portRequest struct {
	purpose string
	ip      string
	port    int
	dst     *int
}

// reservePorts checks the fixed ports of cfg and picks free ones for the rest. The server
// itself reports a taken port only by exiting the process, so this runs before it starts.
// Every chosen port stays bound until all are chosen, so no two coincide.
func reservePorts(cfg Config) (ports, error) {
	var p ports
	requests := []portRequest{
		{PurposeFrontend, cfg.FrontendIP, cfg.FrontendPort, &p.frontend},
		{PurposeFrontendHTTP, cfg.FrontendIP, 0, &p.frontendHTTP},
		{PurposeHistory, internalIP, 0, &p.history},
		{PurposeMatching, internalIP, 0, &p.matching},
		{PurposeWorker, internalIP, 0, &p.worker},
	}
	if cfg.UIPort != UIDisabled {
		requests = append(requests, portRequest{PurposeUI, cfg.FrontendIP, cfg.UIPort, &p.ui})
	}

	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	for _, r := range requests {
		l, err := listen(r.ip, r.purpose, r.port)
		if err != nil {
			return ports{}, err
		}
		listeners = append(listeners, l)
		*r.dst = l.Addr().(*net.TCPAddr).Port
	}
	return p, nil
}

// checkFixedPorts fails if a port cfg fixes is taken.
func checkFixedPorts(cfg Config) error {
	fixed := []portRequest{{purpose: PurposeFrontend, ip: cfg.FrontendIP, port: cfg.FrontendPort}}
	if cfg.UIPort != UIDisabled {
		fixed = append(fixed, portRequest{purpose: PurposeUI, ip: cfg.FrontendIP, port: cfg.UIPort})
	}
	for _, r := range fixed {
		if r.port == 0 {
			continue
		}
		l, err := listen(r.ip, r.purpose, r.port)
		if err != nil {
			return err
		}
		_ = l.Close()
	}
	return nil
}

func listen(ip, purpose string, port int) (net.Listener, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err == nil {
		return l, nil
	}
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, &PortInUseError{Purpose: purpose, Port: port}
	}
	return nil, fmt.Errorf("listen on %s for the %s port: %w", net.JoinHostPort(ip, strconv.Itoa(port)), purpose, err)
}

// internalIP is where history, matching and worker listen: nothing outside the process
// talks to them.
const internalIP = "127.0.0.1"

func hostPort(ip string, port int) string {
	return net.JoinHostPort(ip, strconv.Itoa(port))
}

// dialIP is the address clients reach a service bound on ip at: loopback for a wildcard.
func dialIP(ip string) string {
	parsed := net.ParseIP(ip)
	switch {
	case parsed == nil || !parsed.IsUnspecified():
		return ip
	case parsed.To4() != nil:
		return "127.0.0.1"
	default:
		return "::1"
	}
}
