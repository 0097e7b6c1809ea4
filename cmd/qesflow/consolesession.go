package main

import (
	"flag"
	"fmt"

	"github.com/qesflow/qesflow/console"
)

// consoleSessionFlags locate the keys that seal the compliance console's session cookies.
// The keys are secrets: from the environment or a file only, never a flag value.
type consoleSessionFlags struct {
	file string
}

func addConsoleSessionFlags(fs *flag.FlagSet) *consoleSessionFlags {
	f := &consoleSessionFlags{}
	fs.StringVar(&f.file, "console-session-keys-file", envString("QESFLOW_CONSOLE_SESSION_KEYS_FILE", ""),
		envHelp("file of the keys sealing console session cookies, one secret of at least 32 random characters per line, the sealing one first; "+
			"every API replica (and a codec-server accepting console sessions) needs the same keys. QESFLOW_CONSOLE_SESSION_KEYS gives them directly, comma-separated", "QESFLOW_CONSOLE_SESSION_KEYS_FILE"))
	return f
}

// load returns the configured keys, or nil when none are configured.
func (f *consoleSessionFlags) load() (*console.SessionKeys, error) {
	raw, err := secretValue("", "QESFLOW_CONSOLE_SESSION_KEYS", f.file)
	if err != nil {
		return nil, err
	}
	if raw == "" {
		return nil, nil
	}
	keys, err := console.ParseSessionKeys(raw)
	if err != nil {
		return nil, fmt.Errorf("QESFLOW_CONSOLE_SESSION_KEYS: %w", err)
	}
	return keys, nil
}
