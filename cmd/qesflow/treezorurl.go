package main

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// requireHTTPS refuses a Treezor base URL that is not https:// unless it names this machine
// (the dev simulator) or allowHTTP is set: the OAuth client secret, the access token and
// users' data travel on it.
func requireHTTPS(baseURL string, allowHTTP bool) error {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("--treezor-base-url %q: want https://host[:port]", baseURL)
	}
	if u.Scheme == "https" || allowHTTP {
		return nil
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); strings.EqualFold(host, "localhost") || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	return fmt.Errorf("--treezor-base-url %s: http:// to another host sends the client secret and PII in clear; use https:// "+
		"(or --treezor-allow-http / TREEZOR_ALLOW_HTTP=true for the compose simulator)", baseURL)
}
