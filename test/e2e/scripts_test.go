package e2e

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/treezorsim"
	"github.com/qesflow/qesflow/workflows"
)

// chaosMaxAttempts is the attempt limit of the chaos flows' policy.
const chaosMaxAttempts = 3

// nextStep is what the driver does once an attempt's actions are done.
type nextStep int

const (
	stepAuto    nextStep = iota // nothing: the workflow moves on by itself
	stepRestart                 // wait for WAITING_FOR_USER, then POST …/restart
	stepClear                   // wait for COMPLIANCE_REVIEW, then compliance "clear"
	stepReject                  // wait for COMPLIANCE_REVIEW, then compliance "reject"
)

// attemptPlan is what happens to one identification.
type attemptPlan struct {
	actions []treezorsim.Action // done in order on the attempt's identification
	then    nextStep
	success bool // the last action succeeds
}

// script is one onboarding's scripted story and the outcome it implies.
type script struct {
	kind         string
	country      string // "FR" or "DE" (DE adds the SEPA payin step)
	missingPhone bool   // Treezor answers 428 until the user is fixed and the flow restarted
	attempts     []attemptPlan
	payinEarly   bool                   // DE: the SEPA payin comes before the identification succeeds
	kyc          treezorsim.KYCDecision // "" when the flow never reaches the KYC review
	expect       workflows.State
}

// identifications is how many identifications the flow must create at Treezor.
func (s script) identifications() int { return len(s.attempts) }

// kycRequests is how many KYC review requests the flow must make.
func (s script) kycRequests() int {
	if s.kyc != "" {
		return 1
	}
	return 0
}

// scriptKinds is the catalog of stories; every kind is drawn in turn so that each one
// appears about N/len(scriptKinds) times.
var scriptKinds = []struct {
	name  string
	build func(b *scriptBuilder, s *script)
}{
	{"success", func(b *scriptBuilder, s *script) { b.succeed(s, treezorsim.KYCValidate) }},
	{"success-de-sepa", func(b *scriptBuilder, s *script) {
		s.country = "DE"
		b.succeed(s, treezorsim.KYCValidate)
	}},
	{"kyc-refused", func(b *scriptBuilder, s *script) { b.succeed(s, treezorsim.KYCRefuse) }},
	{"retry-invite", func(b *scriptBuilder, s *script) {
		b.fail(s, treezor.PolicyRetryInvite, stepAuto)
		b.succeed(s, treezorsim.KYCValidate)
	}},
	{"retry-now", func(b *scriptBuilder, s *script) {
		b.fail(s, treezor.PolicyRetryNow, stepAuto)
		b.succeed(s, treezorsim.KYCValidate)
	}},
	{"retry-new-document", func(b *scriptBuilder, s *script) {
		b.fail(s, treezor.PolicyRetryNewDocument, stepAuto)
		b.succeed(s, treezorsim.KYCValidate)
	}},
	{"wait-user-data-restart", func(b *scriptBuilder, s *script) {
		b.fail(s, treezor.PolicyWaitUserData, stepRestart)
		b.succeed(s, treezorsim.KYCValidate)
	}},
	{"declined", func(b *scriptBuilder, s *script) {
		b.fail(s, treezor.PolicyTerminalDeclined, stepAuto)
		s.expect = workflows.StateDeclined
	}},
	{"not-eligible", func(b *scriptBuilder, s *script) {
		b.fail(s, treezor.PolicyTerminalNotEligible, stepAuto)
		s.expect = workflows.StateDeclined
	}},
	{"fraud-clear", func(b *scriptBuilder, s *script) {
		b.fraud(s, stepClear)
		b.succeed(s, treezorsim.KYCValidate)
	}},
	{"fraud-reject", func(b *scriptBuilder, s *script) {
		b.fraud(s, stepReject)
		s.expect = workflows.StateRejected
	}},
	{"user-data-incomplete-428", func(b *scriptBuilder, s *script) {
		s.missingPhone = true
		b.succeed(s, treezorsim.KYCValidate)
	}},
	{"attempts-exhausted", func(b *scriptBuilder, s *script) {
		retryable := []treezor.Policy{treezor.PolicyRetryInvite, treezor.PolicyRetryNow, treezor.PolicyRetryNewDocument}
		for range chaosMaxAttempts {
			b.fail(s, retryable[b.rng.IntN(len(retryable))], stepAuto)
		}
		s.expect = workflows.StateFailed
	}},
}

// scriptBuilder draws the random parts of scripts from the catalog of reason codes.
type scriptBuilder struct {
	rng        *rand.Rand
	byPolicy   map[treezor.Policy][]int // non-fraud codes by default policy
	fraudCodes []int
}

func newScriptBuilder(rng *rand.Rand) *scriptBuilder {
	b := &scriptBuilder{rng: rng, byPolicy: map[treezor.Policy][]int{}}
	for _, r := range treezor.Reasons() {
		if r.Category == treezor.CategoryFraud {
			b.fraudCodes = append(b.fraudCodes, r.Code)
			continue
		}
		b.byPolicy[r.Policy] = append(b.byPolicy[r.Policy], r.Code)
	}
	return b
}

// scripts returns n scripts: the kinds in turn, shuffled.
func (b *scriptBuilder) scripts(n int) []script {
	out := make([]script, n)
	for i := range out {
		kind := scriptKinds[i%len(scriptKinds)]
		s := script{kind: kind.name, country: "FR"}
		if b.rng.IntN(5) == 0 {
			s.country = "DE" // any flow may be German; it only matters once it succeeds
		}
		kind.build(b, &s)
		out[i] = s
	}
	b.rng.Shuffle(n, func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// maybeReview sometimes puts the identification under provider review first.
func (b *scriptBuilder) maybeReview(actions []treezorsim.Action) []treezorsim.Action {
	if b.rng.IntN(3) == 0 {
		return append(actions, treezorsim.ReviewPending())
	}
	return actions
}

// succeed adds a successful attempt and the KYC decision that ends the flow.
func (b *scriptBuilder) succeed(s *script, decision treezorsim.KYCDecision) {
	a := treezorsim.Success()
	if b.rng.IntN(5) == 0 {
		a.Result = treezor.ResultSuccessDataChanged
	}
	s.attempts = append(s.attempts, attemptPlan{actions: append(b.maybeReview(nil), a), success: true})
	s.payinEarly = b.rng.IntN(2) == 0
	s.kyc = decision
	s.expect = workflows.StateCompletedValidated
	if decision == treezorsim.KYCRefuse {
		s.expect = workflows.StateCompletedRefused
	}
}

// fail adds an attempt that ends with a random code of the policy: an abort (30xx) or a
// provider cancellation (31xx), whichever the code is.
func (b *scriptBuilder) fail(s *script, policy treezor.Policy, then nextStep) {
	codes := b.byPolicy[policy]
	code := codes[b.rng.IntN(len(codes))]
	var actions []treezorsim.Action
	if code < 3100 {
		actions = append(actions, treezorsim.Abort(code)) // not possible once under review
	} else {
		actions = append(b.maybeReview(actions), treezorsim.Cancel(code))
	}
	s.attempts = append(s.attempts, attemptPlan{actions: actions, then: then})
}

// fraud adds an attempt that ends in a fraud suspicion, and compliance's decision.
func (b *scriptBuilder) fraud(s *script, then nextStep) {
	a := treezorsim.Fraud(b.fraudCodes[b.rng.IntN(len(b.fraudCodes))])
	if b.rng.IntN(3) == 0 {
		a.Result = treezor.ResultFraudSuspicionPending
	}
	s.attempts = append(s.attempts, attemptPlan{actions: append(b.maybeReview(nil), a), then: then})
}

// kindCounts describes how many scripts of each kind there are, in catalog order.
func kindCounts(scripts []script) string {
	counts := map[string]int{}
	for _, s := range scripts {
		counts[s.kind]++
	}
	var parts []string
	for _, k := range scriptKinds {
		if counts[k.name] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k.name, counts[k.name]))
		}
	}
	return strings.Join(parts, ", ")
}

// newRNG is the suite's seeded random source.
func newRNG(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}
