package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/qesflow/qesflow/starter"
)

const startSummary = "start an onboarding from the command line and print the identification URL"

// startFlags are the flags of qesflow start.
type startFlags struct {
	user, redirectURL, country string
	override, production       bool
	taskQueue                  string
	timeout                    time.Duration
	policy                     *policyFlags
	clientFlags
}

func parseStartFlags(args []string, stderr io.Writer) (*startFlags, error) {
	fs := newFlagSet("start", startSummary, stderr)
	f := &startFlags{}
	envVar(fs, &f.user, "user", "QESFLOW_START_USER", "", "Treezor user id (required)")
	envVar(fs, &f.redirectURL, "redirect-url", "QESFLOW_START_REDIRECT_URL", "", "where the provider sends the user back (absolute http(s) URL)")
	envVar(fs, &f.country, "country", "QESFLOW_START_COUNTRY", "", "the user's country, ISO 3166-1 alpha-2 (DE adds the SEPA step)")
	envVar(fs, &f.override, "override", "QESFLOW_START_OVERRIDE", false, "start again although compliance rejected the last onboarding")
	envVar(fs, &f.production, "production", "QESFLOW_PRODUCTION", false, "production mode: the redirect URL must be https")
	addTaskQueueFlag(fs, &f.taskQueue, "task queue of the onboarding workflow")
	envVar(fs, &f.timeout, "update-timeout", "QESFLOW_API_UPDATE_TIMEOUT", starter.DefaultUpdateTimeout, "how long to wait for the identification URL")
	f.policy = addPolicyFlags(fs)
	f.clientFlags = addClientFlags(fs)
	if err := f.parse(fs, args); err != nil {
		return nil, err
	}
	if f.user == "" {
		fmt.Fprintln(stderr, "--user is required")
		return nil, errUsage
	}
	if f.timeout <= 0 {
		return nil, errors.New("--update-timeout must be positive")
	}
	return f, nil
}

// runStart starts (or joins) the user's onboarding through the Service and prints the
// identification URL, and nothing else, to stdout; what happened goes to stderr.
func runStart(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseStartFlags(args, stderr)
	if err != nil {
		return err
	}
	policy, err := f.policy.override()
	if err != nil {
		return err
	}
	parts, err := f.connect(ctx, connection{})
	if err != nil {
		return err
	}
	defer parts.Close()
	svc, err := starter.NewService(starter.Config{
		Temporal:       parts.Client,
		Namespace:      parts.Namespace,
		TaskQueue:      f.taskQueue,
		ProductionMode: f.production,
		Policy:         policy,
		Logger:         parts.Logger.Named("start"),
		UpdateTimeout:  f.timeout,
	})
	if err != nil {
		return err
	}
	res, err := svc.Start(ctx, starter.StartRequest{
		UserID: f.user, RedirectURL: f.redirectURL, Country: f.country, Override: f.override,
	})
	if err != nil {
		return describeStartError(err)
	}
	verb := "joined the running"
	if res.Created {
		verb = "started a new"
	}
	if res.IdentificationURL == "" {
		return fmt.Errorf("%s onboarding (workflow %s, attempt %d) has no identification URL right now: status %s",
			verb, res.WorkflowID, res.Attempt, res.PublicState())
	}
	fmt.Fprintf(stderr, "%s onboarding: workflow %s, run %s, attempt %d, status %s\n",
		verb, res.WorkflowID, res.RunID, res.Attempt, res.PublicState())
	fmt.Fprintln(stdout, res.IdentificationURL)
	return nil
}

// describeStartError turns a Service error into a one-line explanation for the operator.
func describeStartError(err error) error {
	var e *starter.Error
	if !errors.As(err, &e) {
		return err
	}
	switch e.Kind {
	case starter.KindUserDataIncomplete:
		return fmt.Errorf("user %s: Treezor needs more user data (missing: %s); fix the user, then run `qesflow start` again after a restart signal",
			e.UserID, strings.Join(e.MissingFields, ", "))
	case starter.KindAlreadyValidated:
		return fmt.Errorf("user %s: the last onboarding (run %s) ended validated; nothing to do", e.UserID, e.RunID)
	case starter.KindRejected:
		return fmt.Errorf("user %s: compliance rejected the last onboarding (run %s); use --override to start again", e.UserID, e.RunID)
	case starter.KindUnavailable:
		return fmt.Errorf("cannot reach Temporal: %w", err)
	}
	return err
}
