package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/qesflow/qesflow/devstack"
)

// TestDevCredentialLinesListEveryCredential: what qesflow dev prints names every credential
// of the walk-through (the codec keyring is printed by id elsewhere), so --ephemeral, which
// writes no file, loses none.
func TestDevCredentialLinesListEveryCredential(t *testing.T) {
	c := devstack.Credentials{
		WebhookSecret: "w-1", TreezorClientID: "id-2", TreezorClientSecret: "sec-3",
		OnboardingKey: "on-4", ComplianceKey: "co-5", SupervisorKey: "both-6", CodecKeys: "codec-7",
		EventsSecret: "ev-8",
	}
	out := devCredentialLines(c)
	v := reflect.ValueOf(c)
	for i := 0; i < v.NumField(); i++ {
		name := v.Type().Field(i).Name
		if name == "CodecKeys" {
			continue
		}
		if !strings.Contains(out, v.Field(i).String()) {
			t.Errorf("%s is not printed:\n%s", name, out)
		}
	}
}
