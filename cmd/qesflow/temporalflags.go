package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"go.temporal.io/sdk/contrib/envconfig"
	"go.temporal.io/sdk/converter"
	"go.uber.org/zap"

	"github.com/qesflow/qesflow/codec"
	"github.com/qesflow/qesflow/internal/logging"
	"github.com/qesflow/qesflow/internal/temporalclient"
)

// temporalFlags are the flags every subcommand that talks to Temporal shares.
type temporalFlags struct {
	address, namespace                    string
	tls                                   optionalBool
	tlsCert, tlsKey, tlsCA, tlsServerName string
	apiKey, apiKeyFile                    string
	profileAPIKey                         string // from the client profile or TEMPORAL_API_KEY
	allowPlaintext                        bool
	profile, configFile                   string
	codec                                 *codecKeyFlags
	keyring                               *codec.Keyring // loaded by validate; nil: not encrypted
	fs                                    *flag.FlagSet  // to tell flags given on the command line
}

// codecKeyFlags name the keyring that encrypts payloads: shared by every subcommand that
// talks to Temporal, and by codec-server.
type codecKeyFlags struct {
	keys, keysFile string
}

// addCodecKeyFlags registers --codec-keys and --codec-keys-file. The keys themselves are
// read from the environment after parsing, so that --help never prints them.
func addCodecKeyFlags(fs *flag.FlagSet) *codecKeyFlags {
	f := &codecKeyFlags{}
	unsetEnvVar(fs, &f.keys, "codec-keys", "QESFLOW_CODEC_KEYS", `payload encryption keys "id:base64key,..." (AES-256; the first encrypts, all decrypt; the same for every process of the namespace); prefer the environment or --codec-keys-file`)
	envVar(fs, &f.keysFile, "codec-keys-file", "QESFLOW_CODEC_KEYS_FILE", "", `file of payload encryption keys, one "id:base64key" per line (# comments), the first one encrypts`)
	return f
}

// load reads the keyring: --codec-keys (else QESFLOW_CODEC_KEYS) or --codec-keys-file; nil
// when none is configured.
func (f *codecKeyFlags) load() (*codec.Keyring, error) {
	if f.keys != "" {
		warnSecretFlag("QESFLOW_CODEC_KEYS")
	}
	spec := f.keys
	if spec == "" && f.keysFile == "" {
		spec = os.Getenv("QESFLOW_CODEC_KEYS")
	}
	return codec.LoadKeyring(spec, f.keysFile)
}

// addTemporalFlags registers the Temporal connection flags on fs. Secrets (the API key) are
// read from the environment after parsing, so that --help never prints them.
func addTemporalFlags(fs *flag.FlagSet) *temporalFlags {
	f := &temporalFlags{fs: fs}
	unsetEnvVar(fs, &f.profile, "profile", "TEMPORAL_PROFILE", "profile of the Temporal client configuration file, as the temporal CLI's --profile (default: default); its address, namespace, API key and TLS apply where no flag of this command sets them")
	unsetEnvVar(fs, &f.configFile, "config-file", "TEMPORAL_CONFIG_FILE", "Temporal client configuration file (TOML), as the temporal CLI's (default: temporalio/temporal.toml in the user's configuration directory)")
	envVar(fs, &f.address, "temporal-address", "TEMPORAL_ADDRESS", temporalclient.DefaultAddress, "Temporal frontend host:port")
	envVar(fs, &f.namespace, "namespace", "TEMPORAL_NAMESPACE", temporalclient.DefaultNamespace, "Temporal namespace")
	if v, ok := os.LookupEnv("TEMPORAL_TLS"); ok {
		_ = f.tls.Set(v) // an invalid value is reported by validate
		f.tls.envRaw = v
	}
	fs.Var(&f.tls, "tls", envHelp("connect with TLS (implied by an API key or client certificate; --tls=false disables)", "TEMPORAL_TLS"))
	envVar(fs, &f.tlsCert, "tls-cert", "TEMPORAL_TLS_CERT", "", "client certificate file (PEM) for mTLS")
	envVar(fs, &f.tlsKey, "tls-key", "TEMPORAL_TLS_KEY", "", "client private key file (PEM) for mTLS")
	envVar(fs, &f.tlsCA, "tls-ca", "TEMPORAL_TLS_CA", "", "CA certificate file (PEM) to verify the server; default the system roots")
	envVar(fs, &f.tlsServerName, "tls-server-name", "TEMPORAL_TLS_SERVER_NAME", "", "server name to verify the server certificate against")
	unsetEnvVar(fs, &f.apiKey, "api-key", "TEMPORAL_API_KEY", "Temporal Cloud API key; prefer the environment or --api-key-file")
	envVar(fs, &f.apiKeyFile, "api-key-file", "TEMPORAL_API_KEY_FILE", "", "file holding the Temporal Cloud API key")
	envVar(fs, &f.allowPlaintext, "allow-plaintext", "QESFLOW_ALLOW_PLAINTEXT", false, "start without payload encryption keys: payloads reach Temporal's history in clear and unencrypted signals are accepted (development only)")
	f.codec = addCodecKeyFlags(fs)
	return f
}

// options builds the client options from the parsed and validated flags (the API key from
// TEMPORAL_API_KEY when neither --api-key nor --api-key-file is given; payloads encrypted with
// the keyring when one is configured, otherwise a warning is logged). temporalclient.Dial
// reports bad values.
func (f *temporalFlags) options(logger *zap.Logger) temporalclient.Options {
	apiKey := f.apiKey
	if apiKey != "" {
		warnSecretFlag("TEMPORAL_API_KEY")
	}
	if apiKey == "" && f.apiKeyFile == "" {
		apiKey = f.profileAPIKey // the profile's, or TEMPORAL_API_KEY
	}
	var dc converter.DataConverter
	if f.keyring != nil {
		dc = codec.DataConverter(f.keyring) // refuses unencrypted inputs, updates and queries
		if logger != nil {
			logger.Info("payloads are encrypted", zap.String("activeKeyId", f.keyring.ActiveKeyID()), zap.Strings("keyIds", f.keyring.KeyIDs()))
		}
	} else if logger != nil {
		logger.Warn("--allow-plaintext: payloads are not encrypted: workflow inputs, results and queries reach Temporal's history in clear, " +
			"and unencrypted signals are accepted; set QESFLOW_CODEC_KEYS or --codec-keys-file (the same keys for every worker, bridge, API and start of the namespace)")
	}
	return temporalclient.Options{
		DataConverter: dc,
		Address:       f.address,
		Namespace:     f.namespace,
		TLS:           f.tls.value,
		DisableTLS:    f.tls.set && !f.tls.value,
		TLSCertFile:   f.tlsCert,
		TLSKeyFile:    f.tlsKey,
		TLSCAFile:     f.tlsCA,
		TLSServerName: f.tlsServerName,
		APIKey:        apiKey,
		APIKeyFile:    f.apiKeyFile,
		Logger:        logger,
		// Signals written without the keys fail their workflow task instead of being applied.
		RequireEncryptedPayloads: f.keyring != nil,
	}
}

// validate reports flag values that cannot work (call after parsing).
func (f *temporalFlags) validate() error {
	if f.tls.envRaw != "" {
		if _, err := strconv.ParseBool(f.tls.envRaw); err != nil {
			return fmt.Errorf("TEMPORAL_TLS=%q: want true or false", f.tls.envRaw)
		}
	}
	if err := f.applyProfile(); err != nil {
		return err
	}
	if f.address == "" {
		return errors.New("--temporal-address is empty")
	}
	keys, err := f.codec.load()
	if err != nil {
		return err
	}
	if keys == nil && !f.allowPlaintext {
		return errors.New("no payload encryption keys: set QESFLOW_CODEC_KEYS or --codec-keys-file " +
			"(the same keys for every worker, bridge, API and start of the namespace), or --allow-plaintext for development")
	}
	f.keyring = keys
	return nil
}

// applyProfile loads the Temporal client profile the temporal CLI would use (temporal.toml,
// TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE, then the TEMPORAL_* variables on top, through the
// SDK's envconfig) and takes each of its settings that no flag of the command line sets.
func (f *temporalFlags) applyProfile() error {
	prof, err := envconfig.LoadClientConfigProfile(envconfig.LoadClientConfigProfileOptions{
		ConfigFilePath: f.configFile, ConfigFileProfile: f.profile,
	})
	if err != nil {
		return fmt.Errorf("temporal client profile: %w", err)
	}
	given := map[string]bool{}
	if f.fs != nil {
		f.fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	}
	take := func(name string, dst *string, v string) {
		if v != "" && !given[name] {
			*dst = v
		}
	}
	take("temporal-address", &f.address, prof.Address)
	take("namespace", &f.namespace, prof.Namespace)
	if !given["api-key"] && !given["api-key-file"] && f.apiKeyFile == "" {
		f.profileAPIKey = prof.APIKey
	}
	if t := prof.TLS; t != nil {
		if len(t.ClientCertData) > 0 || len(t.ClientKeyData) > 0 || len(t.ServerCACertData) > 0 {
			return errors.New("temporal client profile: inline TLS data is not supported; give client_cert_path, client_key_path and server_ca_cert_path")
		}
		if t.DisableHostVerification {
			return errors.New("temporal client profile: disable_host_verification is not supported")
		}
		if !given["tls"] {
			f.tls.value, f.tls.set = !t.Disabled, true
		}
		take("tls-cert", &f.tlsCert, t.ClientCertPath)
		take("tls-key", &f.tlsKey, t.ClientKeyPath)
		take("tls-ca", &f.tlsCA, t.ServerCACertPath)
		take("tls-server-name", &f.tlsServerName, t.ServerName)
	}
	return nil
}

// optionalBool is a boolean flag that remembers whether it was set at all.
type optionalBool struct {
	value, set bool
	envRaw     string
}

func (b *optionalBool) String() string {
	if b == nil {
		return "false"
	}
	return strconv.FormatBool(b.value)
}

func (b *optionalBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	b.value, b.set = v, true
	return nil
}

// IsBoolFlag lets "--tls" stand for "--tls=true".
func (b *optionalBool) IsBoolFlag() bool { return true }

// logFlags are the logging flags every long-running subcommand shares.
type logFlags struct {
	level, format string
}

func addLogFlags(fs *flag.FlagSet) *logFlags {
	f := &logFlags{}
	envVar(fs, &f.level, "log-level", "QESFLOW_LOG_LEVEL", "info", "log level: debug, info, warn, error")
	envVar(fs, &f.format, "log-format", "QESFLOW_LOG_FORMAT", "json", "log format: json or console")
	return f
}

// build returns the logger the flags describe.
func (f *logFlags) build() (*zap.Logger, error) {
	return logging.New(f.level, f.format)
}

// secretValue resolves a secret given either directly (flag, else the environment variable
// env) or in a file. Giving both is an error; surrounding white space in a file is trimmed.
// Secret flags have no default, so that --help never prints an environment secret.
func secretValue(flagValue, env, file string) (string, error) {
	if flagValue != "" {
		warnSecretFlag(env)
	}
	value := flagValue
	if value == "" && file == "" {
		value = os.Getenv(env)
	}
	if file == "" {
		return value, nil
	}
	if value != "" {
		return "", fmt.Errorf("%s: give the secret or a secret file, not both", env)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s: read secret file: %w", env, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// secretFlagWarnings receives the warning of a secret given as a flag value.
var secretFlagWarnings io.Writer = os.Stderr

// warnSecretFlag warns that a secret was given on the command line, where every user of the
// machine can read it (ps, /proc/*/cmdline) and shell history keeps it.
func warnSecretFlag(env string) {
	fmt.Fprintf(secretFlagWarnings, "WARNING: a secret was given as a flag value: it shows in ps and shell history; "+
		"set %s or %s_FILE instead\n", env, env)
}
