package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/qesflow/qesflow/codec"
	"github.com/qesflow/qesflow/console"
	"github.com/qesflow/qesflow/internal/httpserver"
	"github.com/qesflow/qesflow/starter"
)

const codecSummary = "serve the codec endpoint that lets the Temporal Web UI and CLI show encrypted payloads"

// codecServerFlags are the flags of qesflow codec-server.
type codecServerFlags struct {
	addr, adminAddr        string
	uiOrigins              string
	tokens, tokensFile     string
	keys                   *codecKeyFlags
	log                    *logFlags
	sessionFlags           *consoleSessionFlags
	keyring                *codec.Keyring
	sessions               *console.Sessions
	resolvedTokens, origin []string
}

func parseCodecServerFlags(args []string, stderr io.Writer) (*codecServerFlags, error) {
	fs := newFlagSet("codec-server", codecSummary, stderr)
	f := &codecServerFlags{}
	envVar(fs, &f.addr, "addr", "QESFLOW_CODEC_ADDR", ":8089", "listen address of POST /codec/encode, POST /codec/decode and /healthz")
	envVar(fs, &f.adminAddr, "admin-addr", "QESFLOW_CODEC_ADMIN_ADDR", "127.0.0.1:9089", "listen address of /readyz and /metrics (and /healthz); empty: on --addr")
	envVar(fs, &f.uiOrigins, "ui-origins", "QESFLOW_CODEC_UI_ORIGINS", "", "origins of the Temporal Web UI allowed to call the endpoint (CORS), comma-separated, e.g. https://temporal.example.com")
	unsetEnvVar(fs, &f.tokens, "auth-tokens", "QESFLOW_CODEC_AUTH_TOKENS", "bearer tokens allowed to encode and decode, comma-separated (temporal --codec-auth 'Bearer <token>'); prefer the environment or a file")
	envVar(fs, &f.tokensFile, "auth-tokens-file", "QESFLOW_CODEC_AUTH_TOKENS_FILE", "", "file of bearer tokens, one per line")
	f.keys = addCodecKeyFlags(fs)
	f.sessionFlags = addConsoleSessionFlags(fs)
	f.log = addLogFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	return f, f.resolve()
}

// resolve loads the keyring and the tokens and checks the endpoint can be used at all.
func (f *codecServerFlags) resolve() error {
	keys, err := f.keys.load()
	if err != nil {
		return err
	}
	if keys == nil {
		return errors.New("no payload encryption keys: set QESFLOW_CODEC_KEYS or --codec-keys-file (the keys of the workers)")
	}
	f.keyring = keys
	raw, err := secretValue(f.tokens, "QESFLOW_CODEC_AUTH_TOKENS", f.tokensFile)
	if err != nil {
		return err
	}
	f.resolvedTokens = splitList(raw)
	for i, token := range f.resolvedTokens {
		if err := starter.CheckSecretStrength(token); err != nil {
			return fmt.Errorf("codec token %d: %w", i+1, err)
		}
	}
	f.origin = splitList(f.uiOrigins)
	sessionKeys, err := f.sessionFlags.load()
	if err != nil {
		return err
	}
	if sessionKeys != nil {
		// The codec cookie of an operator signed in to the console on this host decodes for
		// the Web UI's browser. Sign-out revocations stay in the API process: here a session
		// ends at its idle or absolute expiry.
		f.sessions = console.NewSessions(console.SessionsConfig{Keys: sessionKeys})
		if len(f.origin) == 0 {
			return errors.New("console session keys are set but no --ui-origins: sessions are accepted from the Web UI's origin only")
		}
	}
	if len(f.resolvedTokens) == 0 && f.sessions == nil {
		// An Origin header is not authentication: every request needs a token or a session.
		return errors.New("no bearer token: set QESFLOW_CODEC_AUTH_TOKENS or --auth-tokens-file (or QESFLOW_CONSOLE_SESSION_KEYS for the Web UI's operators)")
	}
	return nil
}

// splitList splits a comma- or newline-separated list, dropping empty entries.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func runCodecServer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseCodecServerFlags(args, stderr)
	if err != nil {
		return err
	}
	logger, err := f.log.build()
	if err != nil {
		return err
	}
	defer func() { _ = logger.Sync() }()
	cfg := codec.HandlerConfig{Keys: f.keyring, Tokens: f.resolvedTokens, UIOrigins: f.origin, Logger: logger.Named("codec")}
	if f.sessions != nil {
		cfg.Sessions = f.sessions
	}
	h, err := codec.NewHandler(cfg)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle(codec.PathPrefix, h)
	srv := httpserver.New(httpserver.Options{Name: "codec", Addr: f.addr, AdminAddr: f.adminAddr, Handler: mux, Logger: logger})
	if err := srv.Listen(); err != nil {
		return err
	}
	logger.Info("codec endpoint serving", zap.String("addr", srv.Addr()), zap.String("activeKeyId", f.keyring.ActiveKeyID()),
		zap.Strings("keyIds", f.keyring.KeyIDs()), zap.Strings("uiOrigins", f.origin), zap.Int("tokens", len(f.resolvedTokens)), zap.Bool("consoleSessions", f.sessions != nil),
	)
	fmt.Fprintf(stdout, "codec endpoint http://%s%s\n", srv.Addr(), strings.TrimSuffix(codec.PathPrefix, "/"))
	return srv.Serve(ctx)
}
