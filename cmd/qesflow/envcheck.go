package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"time"
)

// envInUsage finds the environment variable envHelp appended to a flag's usage text.
var envInUsage = regexp.MustCompile(`\(env ([A-Z][A-Z0-9_]*)\)$`)

// checkEnv fails on an environment variable that holds no valid value for its flag, as the
// flag itself would: the env* helpers fall back to the default on a bad value, which would
// otherwise run the process with a setting nobody asked for. A flag given on the command
// line wins over its variable, so its variable is not checked.
func checkEnv(fs *flag.FlagSet) error {
	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		m := envInUsage.FindStringSubmatch(f.Usage)
		if m == nil || onCommandLine[f.Name] {
			return
		}
		raw, ok := os.LookupEnv(m[1])
		if !ok || raw == "" {
			return // an empty variable, as compose writes for ${VAR:-}, is unset
		}
		if err := checkEnvValue(f.Value, raw); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w (flag --%s)", m[1], raw, err, f.Name))
		}
	})
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid environment: %w", err)
	}
	return nil
}

// checkEnvValue parses raw as the env* helper for value's type does.
func checkEnvValue(value flag.Value, raw string) error {
	getter, ok := value.(flag.Getter)
	if !ok {
		return nil // custom values (e.g. optionalBool) check their variable themselves
	}
	switch getter.Get().(type) {
	case time.Duration:
		if _, err := time.ParseDuration(raw); err != nil {
			return errors.New("want a duration such as 720h, 30m or 45s (units ns, us, ms, s, m, h)")
		}
	case int, int64:
		if _, err := strconv.Atoi(raw); err != nil {
			return errors.New("want an integer")
		}
	case float64:
		if _, err := strconv.ParseFloat(raw, 64); err != nil {
			return errors.New("want a number")
		}
	case bool:
		if _, err := strconv.ParseBool(raw); err != nil {
			return errors.New("want true or false")
		}
	}
	return nil
}
