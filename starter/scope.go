package starter

import (
	"fmt"
	"strings"
)

// Scope is the set of permissions an API key grants.
type Scope uint8

// The API's two scopes.
const (
	// ScopeOnboarding lets the onboarding system create onboardings, read the end-user-safe
	// status, restart and cancel.
	ScopeOnboarding Scope = 1 << iota
	// ScopeCompliance lets compliance officers read the internal details, decide on fraud
	// suspicions and start again after a rejection (override).
	ScopeCompliance
)

// scopeNames maps each scope to its name in configuration and in the OpenAPI document.
var scopeNames = []struct {
	scope Scope
	name  string
}{
	{ScopeOnboarding, "onboarding"},
	{ScopeCompliance, "compliance"},
}

// Has reports whether s grants every scope in required.
func (s Scope) Has(required Scope) bool { return s&required == required }

// String is the configuration form, e.g. "onboarding+compliance"; "" for no scope.
func (s Scope) String() string {
	var names []string
	for _, n := range scopeNames {
		if s.Has(n.scope) {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, "+")
}

// Names lists the scope names s grants, in a stable order.
func (s Scope) Names() []string {
	if s == 0 {
		return nil
	}
	return strings.Split(s.String(), "+")
}

// ParseScope parses "onboarding", "compliance" or "onboarding+compliance" (case-insensitive).
func ParseScope(text string) (Scope, error) {
	var s Scope
	for _, part := range strings.Split(text, "+") {
		part = strings.ToLower(strings.TrimSpace(part))
		found := false
		for _, n := range scopeNames {
			if part == n.name {
				s |= n.scope
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("unknown scope %q (want onboarding, compliance or onboarding+compliance)", part)
		}
	}
	return s, nil
}
