package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
)

// newFlagSet returns a flag set for one subcommand whose --help prints to w.
func newFlagSet(name, summary string, w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("qesflow "+name, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		fmt.Fprintf(w, "qesflow %s: %s\n\nFlags:\n", name, summary)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and maps flag errors to errUsage (already printed by the flag set).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected arguments: %v\n", fs.Args())
		return errUsage
	}
	return checkEnv(fs)
}

// envString returns the environment variable's value, or def when unset.
func envString(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	if v, ok := os.LookupEnv(name); ok {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return def
}

func envBool(name string, def bool) bool {
	if v, ok := os.LookupEnv(name); ok {
		if b, err := strconv.ParseBool(v); err == nil {
			return b
		}
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, ok := os.LookupEnv(name); ok {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return def
}

func envFloat(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(envString(name, ""), 64); err == nil {
		return v
	}
	return def
}

// envHelp appends the environment variable to a flag's usage text.
func envHelp(usage, env string) string { return usage + " (env " + env + ")" }

// flagValue are the types of the flags that take their default from the environment.
type flagValue interface {
	string | bool | int | int64 | float64 | time.Duration
}

// envVar defines the flag name on fs, stored in p, whose default is the environment
// variable env when it is set (else def); the usage names the variable.
func envVar[T flagValue](fs *flag.FlagSet, p *T, name, env string, def T, usage string) {
	usage = envHelp(usage, env)
	switch p := any(p).(type) {
	case *string:
		fs.StringVar(p, name, envString(env, any(def).(string)), usage)
	case *bool:
		fs.BoolVar(p, name, envBool(env, any(def).(bool)), usage)
	case *int:
		fs.IntVar(p, name, envInt(env, any(def).(int)), usage)
	case *int64:
		fs.Int64Var(p, name, int64(envInt(env, int(any(def).(int64)))), usage)
	case *float64:
		fs.Float64Var(p, name, envFloat(env, any(def).(float64)), usage)
	case *time.Duration:
		fs.DurationVar(p, name, envDuration(env, any(def).(time.Duration)), usage)
	}
}

// envFlag is envVar on a new variable, which it returns.
func envFlag[T flagValue](fs *flag.FlagSet, name, env string, def T, usage string) *T {
	p := new(T)
	envVar(fs, p, name, env, def, usage)
	return p
}

// unsetEnvVar defines a string flag with no default whose value the command reads from the
// environment variable env after parsing when the flag is not given: secrets, so that
// --help never prints them, and settings a later step resolves (profiles).
func unsetEnvVar(fs *flag.FlagSet, p *string, name, env, usage string) {
	fs.StringVar(p, name, "", envHelp(usage, env))
}
