package workflows

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/qesflow/qesflow/treezor"
)

// modelScript is one scenario of the model-based test (format: see model_test.go).
type modelScript struct {
	country     string // "FR" or "DE"
	docs        bool   // DownloadDocuments
	maxAttempts int
	// Treezor's answers to the workflow's calls, consumed in order (one per logical call,
	// that is per access tag or document); when a list runs out the answer is "ok".
	initAnswers, kycAnswers, dlAnswers []modelAnswer
	steps                              []modelStep
}

// modelAnswer is how the fake Treezor answers one call.
type modelAnswer struct {
	kind  string            // "ok", "428", "refused", "flaky" (n retryable failures, then ok), "down", "fail"
	n     int               // failures of "flaky"
	kyc   treezor.KYCReview // the review status a KYC review request answers (kind "ok")
	delay time.Duration     // the final answer comes this long after the call (async completion)
}

// modelStep is one line: after delay, the actions are delivered in one workflow task.
type modelStep struct {
	delay time.Duration
	acts  []modelAction
}

// modelAction is one thing the outside world does.
type modelAction struct {
	op     string // url, restart, cancel, clear, reject, can, created, processing, aborted, final, kyc, payin, doc, dup
	target string // identification: cur, prev, i<N>
	result string // QES result
	code   int    // reason code
	value  string // kyc review, payin status, document id
	n      int    // dup: the webhook number (1-based, in order of appearance)
}

// webhook reports whether the action delivers a new webhook (it gets the next number).
func (a modelAction) webhook() bool {
	switch a.op {
	case "created", "processing", "aborted", "final", "kyc", "payin", "doc":
		return true
	}
	return false
}

func (a modelAction) String() string {
	var parts []string
	add := func(s string) {
		if s != "" {
			parts = append(parts, s)
		}
	}
	add(a.op)
	switch a.op {
	case "created":
		add(a.target)
	case "processing":
		add(a.target)
		add(a.result)
	case "aborted":
		add(a.target)
		add(strconv.Itoa(a.code))
		if a.result != treezor.ResultAborted {
			add(a.result)
		}
	case "final":
		add(a.target)
		add(a.result)
		if a.code != 0 {
			add(strconv.Itoa(a.code))
		}
	case "kyc", "payin", "doc":
		add(a.value)
	case "dup":
		add(strconv.Itoa(a.n))
	}
	return strings.Join(parts, " ")
}

func (a modelAnswer) String() string {
	s := a.kind
	switch {
	case a.kind == "flaky":
		s += strconv.Itoa(a.n)
	case a.kind == "ok" && a.kyc != treezor.KYCReviewNone:
		s = a.kyc.String()
	}
	if a.delay > 0 {
		s += "@" + formatModelDuration(a.delay)
	}
	return s
}

// String formats the script so that parseModelScript reads it back.
func (s *modelScript) String() string {
	var b strings.Builder
	docs := "off"
	if s.docs {
		docs = "on"
	}
	fmt.Fprintf(&b, "cfg country=%s docs=%s max=%d\n", s.country, docs, s.maxAttempts)
	answers := func(name string, list []modelAnswer) {
		if len(list) == 0 {
			return
		}
		b.WriteString(name)
		for _, a := range list {
			b.WriteString(" " + a.String())
		}
		b.WriteString("\n")
	}
	answers("init", s.initAnswers)
	answers("kycreq", s.kycAnswers)
	answers("dl", s.dlAnswers)
	for _, st := range s.steps {
		acts := make([]string, len(st.acts))
		for i, a := range st.acts {
			acts[i] = a.String()
		}
		fmt.Fprintf(&b, "+%s %s\n", formatModelDuration(st.delay), strings.Join(acts, " & "))
	}
	return b.String()
}

// formatModelDuration writes d as 1d2h3m4s500ms, leaving out zero parts.
func formatModelDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		name string
		d    time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}} {
		if n := d / u.d; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10) + u.name)
			d -= n * u.d
		}
	}
	return b.String()
}

// parseModelDuration reads what formatModelDuration writes (and any Go duration).
func parseModelDuration(s string) (time.Duration, error) {
	var total time.Duration
	if i := strings.Index(s, "d"); i > 0 && !strings.HasPrefix(s[i:], "ms") {
		days, err := strconv.Atoi(s[:i])
		if err != nil {
			return 0, fmt.Errorf("duration %q: %w", s, err)
		}
		total, s = time.Duration(days)*24*time.Hour, s[i+1:]
		if s == "" {
			return total, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q: %w", s, err)
	}
	return total + d, nil
}

// parseModelScript reads a script; lines are separated by newlines or ';', '#' starts a comment.
func parseModelScript(text string) (*modelScript, error) {
	s := &modelScript{country: "FR", maxAttempts: 3}
	lines := strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == ';' })
	for n, line := range lines {
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if err := s.parseLine(line); err != nil {
			return nil, fmt.Errorf("line %d %q: %w", n+1, line, err)
		}
	}
	return s, nil
}

func (s *modelScript) parseLine(line string) error {
	f := strings.Fields(line)
	switch {
	case f[0] == "cfg":
		for _, kv := range f[1:] {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "country":
				s.country = v
			case "docs":
				s.docs = v == "on"
			case "max":
				n, err := strconv.Atoi(v)
				if err != nil {
					return err
				}
				s.maxAttempts = n
			default:
				return fmt.Errorf("unknown setting %q", k)
			}
		}
	case f[0] == "init" || f[0] == "kycreq" || f[0] == "dl":
		for _, tok := range f[1:] {
			a, err := parseModelAnswer(tok)
			if err != nil {
				return err
			}
			switch f[0] {
			case "init":
				s.initAnswers = append(s.initAnswers, a)
			case "kycreq":
				s.kycAnswers = append(s.kycAnswers, a)
			default:
				s.dlAnswers = append(s.dlAnswers, a)
			}
		}
	case strings.HasPrefix(f[0], "+"):
		d, err := parseModelDuration(f[0][1:])
		if err != nil {
			return err
		}
		st := modelStep{delay: d}
		rest := strings.TrimSpace(strings.TrimPrefix(line, f[0]))
		for _, part := range strings.Split(rest, "&") {
			a, err := parseModelAction(strings.Fields(part))
			if err != nil {
				return err
			}
			st.acts = append(st.acts, a)
		}
		s.steps = append(s.steps, st)
	default:
		return fmt.Errorf("a line starts with cfg, init, kycreq, dl or +<delay>")
	}
	return nil
}

func parseModelAnswer(tok string) (modelAnswer, error) {
	var a modelAnswer
	if body, delay, ok := strings.Cut(tok, "@"); ok {
		d, err := parseModelDuration(delay)
		if err != nil {
			return a, err
		}
		tok, a.delay = body, d
	}
	switch {
	case tok == "ok" || tok == "428" || tok == "refused" || tok == "down" || tok == "fail":
		a.kind = tok
	case strings.HasPrefix(tok, "flaky"):
		n, err := strconv.Atoi(strings.TrimPrefix(tok, "flaky"))
		if err != nil {
			return a, fmt.Errorf("answer %q: %w", tok, err)
		}
		a.kind, a.n = "flaky", n
	default:
		k, err := parseKYCReview(tok)
		if err != nil {
			return a, fmt.Errorf("answer %q: unknown", tok)
		}
		a.kind, a.kyc = "ok", k
	}
	return a, nil
}

func parseKYCReview(name string) (treezor.KYCReview, error) {
	for k := treezor.KYCReviewNone; k <= treezor.KYCReviewReviewPending; k++ {
		if k.String() == name {
			return k, nil
		}
	}
	return 0, fmt.Errorf("unknown KYC review %q", name)
}

func parseModelAction(f []string) (modelAction, error) {
	if len(f) == 0 {
		return modelAction{}, fmt.Errorf("empty action")
	}
	a := modelAction{op: f[0]}
	args := f[1:]
	need := func(n int) error {
		if len(args) < n {
			return fmt.Errorf("%s needs %d arguments", a.op, n)
		}
		return nil
	}
	var err error
	switch a.op {
	case "url", "restart", "cancel", "clear", "reject", "can":
	case "created":
		err = need(1)
		if err == nil {
			a.target = args[0]
		}
	case "processing":
		if err = need(1); err == nil {
			a.target = args[0]
			if len(args) > 1 {
				a.result = args[1]
			}
		}
	case "aborted":
		if err = need(2); err == nil {
			a.target, a.result = args[0], treezor.ResultAborted
			a.code, err = strconv.Atoi(args[1])
			if len(args) > 2 {
				a.result = args[2]
			}
		}
	case "final":
		if err = need(2); err == nil {
			a.target, a.result = args[0], args[1]
			if len(args) > 2 {
				a.code, err = strconv.Atoi(args[2])
			}
		}
	case "kyc", "payin", "doc":
		if err = need(1); err == nil {
			a.value = args[0]
			if a.op == "kyc" {
				_, err = parseKYCReview(a.value)
			}
		}
	case "dup":
		if err = need(1); err == nil {
			a.n, err = strconv.Atoi(args[0])
		}
	default:
		err = fmt.Errorf("unknown action %q", a.op)
	}
	return a, err
}

// generateModelScript draws a random valid scenario from seed.
func generateModelScript(seed uint64) *modelScript {
	g := &modelGen{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	return g.script()
}

type modelGen struct {
	rng      *rand.Rand
	webhooks int
}

// pick returns an index drawn with the given weights.
func (g *modelGen) pick(weights ...int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := g.rng.IntN(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}

func (g *modelGen) chance(percent int) bool { return g.rng.IntN(100) < percent }

func (g *modelGen) script() *modelScript {
	s := &modelScript{country: "FR", maxAttempts: 2 + g.rng.IntN(2), docs: g.chance(30)}
	if g.chance(25) {
		s.country = "DE"
	}
	for range 1 + g.rng.IntN(4) {
		s.initAnswers = append(s.initAnswers, g.initAnswer())
	}
	for range g.rng.IntN(3) {
		s.kycAnswers = append(s.kycAnswers, g.kycAnswer())
	}
	if s.docs {
		for range g.rng.IntN(3) {
			s.dlAnswers = append(s.dlAnswers, g.dlAnswer())
		}
	}
	for range 4 + g.rng.IntN(24) {
		st := modelStep{delay: g.delay()}
		n := 1
		if g.chance(20) {
			n = 2 + g.rng.IntN(2)
		}
		for range n {
			st.acts = append(st.acts, g.action(s))
		}
		s.steps = append(s.steps, st)
	}
	return s
}

// answerDelay is mostly none; otherwise under a minute (the activities' start-to-close
// timeout), 100–199 ms past a whole second so that it never ties with a step or a
// deadline (see modelPolicy).
func (g *modelGen) answerDelay() time.Duration {
	if g.chance(70) {
		return 0
	}
	return time.Duration(1+g.rng.IntN(50))*time.Second + time.Duration(100+g.rng.IntN(100))*time.Millisecond
}

func (g *modelGen) flaky() modelAnswer {
	n := 1 + g.rng.IntN(3)
	if g.chance(30) {
		n = 5 + g.rng.IntN(5) // about 30 s to 8.5 min of retries (the test environment stops at 10 attempts)
	}
	return modelAnswer{kind: "flaky", n: n}
}

func (g *modelGen) initAnswer() modelAnswer {
	switch g.pick(60, 8, 4, 12, 3) {
	case 0:
		return modelAnswer{kind: "ok", delay: g.answerDelay()}
	case 1:
		return modelAnswer{kind: "428", delay: g.answerDelay()}
	case 2:
		return modelAnswer{kind: "refused", delay: g.answerDelay()}
	case 3:
		return g.flaky()
	default:
		return modelAnswer{kind: "down"}
	}
}

var modelKYCAnswers = []treezor.KYCReview{treezor.KYCReviewPending, treezor.KYCReviewReviewPending,
	treezor.KYCReviewValidated, treezor.KYCReviewRefused}

func (g *modelGen) kycAnswer() modelAnswer {
	switch g.pick(80, 8, 3, 2) {
	case 0:
		k := modelKYCAnswers[g.pick(60, 15, 15, 10)]
		return modelAnswer{kind: "ok", kyc: k, delay: g.answerDelay()}
	case 1:
		return g.flaky()
	case 2:
		return modelAnswer{kind: "refused"}
	default:
		return modelAnswer{kind: "down"}
	}
}

func (g *modelGen) dlAnswer() modelAnswer {
	if g.chance(25) {
		return modelAnswer{kind: "fail"}
	}
	return modelAnswer{kind: "ok", delay: g.answerDelay()}
}

// delay between two steps: mostly seconds, sometimes minutes, hours or days, so that
// the workflow's deadlines (model policy: minutes to hours) fire now and then.
func (g *modelGen) delay() time.Duration {
	switch g.pick(60, 29, 9, 2) {
	case 0:
		return time.Duration(1+g.rng.IntN(59)) * time.Second
	case 1:
		return time.Duration(1+g.rng.IntN(59)) * time.Minute
	case 2:
		return time.Duration(1+g.rng.IntN(5)) * time.Hour
	default:
		return time.Duration(1+g.rng.IntN(3)) * 24 * time.Hour
	}
}

// target is mostly the current identification, sometimes an older (or not yet issued) one.
func (g *modelGen) target() string {
	switch g.pick(80, 10, 10) {
	case 0:
		return "cur"
	case 1:
		return "prev"
	default:
		return "i" + strconv.Itoa(1+g.rng.IntN(4))
	}
}

var (
	modelAbortCodes  = []int{3001, 3003, 3005, 3009, 3011, 3139, 3204}
	modelFinalCodes  = []int{3011, 3139, 3001, 3009, 3012, 3207}
	modelFraudCodes  = []int{0, 3201, 3207}
	modelFinalResult = []string{treezor.ResultSuccess, treezor.ResultReviewPending, treezor.ResultCanceled,
		treezor.ResultFraudSuspicionConfirmed, treezor.ResultFraudSuspicionPending}
)

func (g *modelGen) action(s *modelScript) modelAction {
	a := g.rawAction(s)
	if a.webhook() {
		g.webhooks++
	}
	return a
}

func (g *modelGen) rawAction(s *modelScript) modelAction {
	switch g.pick(10, 6, 14, 8, 9, 3, 4, 6, 8, 5, 4, 2, 1, 3) {
	case 0:
		return modelAction{op: "created", target: g.target()}
	case 1:
		a := modelAction{op: "processing", target: g.target()}
		if g.chance(10) {
			a.result = treezor.ResultFraudSuspicionPending
		}
		return a
	case 2:
		a := modelAction{op: "final", target: g.target(), result: modelFinalResult[g.pick(40, 10, 25, 15, 10)]}
		switch a.result {
		case treezor.ResultCanceled:
			a.code = modelFinalCodes[g.rng.IntN(len(modelFinalCodes))]
		case treezor.ResultFraudSuspicionConfirmed, treezor.ResultFraudSuspicionPending:
			a.code = modelFraudCodes[g.rng.IntN(len(modelFraudCodes))]
		}
		return a
	case 3:
		a := modelAction{op: "aborted", target: g.target(), result: treezor.ResultAborted,
			code: modelAbortCodes[g.rng.IntN(len(modelAbortCodes))]}
		if g.chance(10) {
			a.result = treezor.ResultFraudSuspicionConfirmed
		}
		return a
	case 4:
		return modelAction{op: "kyc", value: modelKYCAnswers[g.pick(30, 25, 30, 15)].String()}
	case 5:
		status := "VALIDATED"
		if g.chance(30) {
			status = "PENDING"
		}
		if s.country != "DE" && g.chance(50) {
			return modelAction{op: "created", target: g.target()}
		}
		return modelAction{op: "payin", value: status}
	case 6:
		if !s.docs && g.chance(80) {
			return modelAction{op: "created", target: g.target()}
		}
		return modelAction{op: "doc", value: "doc-" + strconv.Itoa(1+g.rng.IntN(3))}
	case 7:
		if g.webhooks == 0 {
			return modelAction{op: "url"}
		}
		return modelAction{op: "dup", n: 1 + g.rng.IntN(g.webhooks)}
	case 8:
		return modelAction{op: "url"}
	case 9:
		return modelAction{op: "restart"}
	case 10:
		return modelAction{op: "clear"}
	case 11:
		return modelAction{op: "reject"}
	case 12:
		return modelAction{op: "cancel"}
	default:
		return modelAction{op: "can"}
	}
}
