package treezor

import (
	"fmt"
	"sort"
	"strings"
	"testing"
)

// resultClasses are every class ClassifyResult may answer.
var resultClasses = map[ResultClass]bool{
	ResultClassSuccess: true, ResultClassPending: true, ResultClassFraud: true,
	ResultClassCanceled: true, ResultClassAborted: true, ResultClassUnknown: true,
}

// FuzzClassifyResult checks that any result string gets one of the six classes, that the
// class ignores surrounding space and ASCII case, that a class other than UNKNOWN and FRAUD
// needs the exact (trimmed, upper-cased) result value, and that anything naming FRAUD that
// is not a success or pending value is fraud.
func FuzzClassifyResult(f *testing.F) {
	for _, s := range []string{
		ResultSuccess, ResultSuccessDataChanged, ResultReviewPending, ResultCheckPending,
		ResultFraudSuspicionPending, ResultFraudSuspicionConfirmed, ResultCanceled, ResultAborted,
		"CANCELLED", " success\n", "fraud", "not_fraud", "", "\x00", "ABORTED\u00a0", "Ｆraud", "ſuccess",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, result string) {
		class := ClassifyResult(result)
		if !resultClasses[class] {
			t.Fatalf("ClassifyResult(%q) = %q, not a result class", result, class)
		}
		if again := ClassifyResult(" \t" + result + "\r\n"); again != class {
			t.Fatalf("surrounding space changes the class of %q: %q -> %q", result, class, again)
		}
		if isASCII(result) {
			if lower := ClassifyResult(strings.ToLower(result)); lower != class {
				t.Fatalf("case changes the class of %q: %q -> %q", result, class, lower)
			}
		}
		r := strings.ToUpper(strings.TrimSpace(result))
		exact := map[ResultClass][]string{
			ResultClassSuccess:  {ResultSuccess, ResultSuccessDataChanged},
			ResultClassPending:  {ResultReviewPending, ResultCheckPending},
			ResultClassCanceled: {ResultCanceled, "CANCELLED"},
			ResultClassAborted:  {ResultAborted},
		}
		if values, ok := exact[class]; ok && !contains(values, r) {
			t.Fatalf("ClassifyResult(%q) = %q, but %q is none of %v", result, class, r, values)
		}
		if class == ResultClassFraud && !strings.Contains(r, "FRAUD") {
			t.Fatalf("ClassifyResult(%q) = FRAUD without naming fraud", result)
		}
		if strings.Contains(r, "FRAUD") && class != ResultClassFraud {
			t.Fatalf("ClassifyResult(%q) = %q, but it names fraud", result, class)
		}
	})
}

// FuzzLookupReason checks every int: the answer names the code asked for, carries a valid
// policy, is Known exactly for catalog codes, and follows the documented defaults otherwise
// (30xx aborted, 31xx canceled, 32xx fraud to compliance, the rest UNKNOWN); a fraud code is
// never retried automatically.
func FuzzLookupReason(f *testing.F) {
	for _, c := range []int{0, -1, 1, 2999, 3000, 3001, 3011, 3021, 3022, 3099, 3100, 3141, 3142, 3199,
		3200, 3215, 3216, 3299, 3300, 1 << 31, -1 << 31, int(^uint(0) >> 1), -int(^uint(0)>>1) - 1} {
		f.Add(c)
	}
	known := map[int]Reason{}
	for _, r := range Reasons() {
		known[r.Code] = r
	}
	f.Fuzz(func(t *testing.T, code int) {
		r := LookupReason(code)
		if r.Code != code {
			t.Fatalf("LookupReason(%d).Code = %d", code, r.Code)
		}
		if !r.Policy.Valid() {
			t.Fatalf("LookupReason(%d).Policy = %q is not a policy", code, r.Policy)
		}
		if r.Category == CategoryFraud && r.Policy != PolicyCompliance {
			t.Fatalf("fraud code %d has policy %q, want COMPLIANCE", code, r.Policy)
		}
		if want, ok := known[code]; ok {
			if r != want || !r.Known || r.Message == UnknownReasonMessage || r.Message == "" {
				t.Fatalf("LookupReason(%d) = %+v, want the catalog entry %+v", code, r, want)
			}
			if got := defaultCategory(code); r.Category != got {
				t.Fatalf("catalog code %d has category %q outside its range's %q", code, r.Category, got)
			}
			return
		}
		wantPolicy := PolicyRetryInvite
		if defaultCategory(code) == CategoryFraud {
			wantPolicy = PolicyCompliance
		}
		if r.Known || r.Message != UnknownReasonMessage || r.Description != "" ||
			r.Category != defaultCategory(code) || r.Policy != wantPolicy {
			t.Fatalf("LookupReason(%d) = %+v, want the unknown-code default (%s, %s)", code, r, defaultCategory(code), wantPolicy)
		}
	})
}

// defaultCategory is the documented category of a code's range.
func defaultCategory(code int) Category {
	switch {
	case code >= 3000 && code < 3100:
		return CategoryAborted
	case code >= 3100 && code < 3200:
		return CategoryCanceled
	case code >= 3200 && code < 3300:
		return CategoryFraud
	}
	return CategoryUnknown
}

// FuzzParsePolicyOverrides checks that the parser never panics, that whatever it accepts
// holds only codes in 3001–3299 with valid policies and one entry per non-blank item, and
// that writing the result back in the documented form parses to the same map.
func FuzzParsePolicyOverrides(f *testing.F) {
	for _, s := range []string{
		"", " ", "3011=TERMINAL_DECLINED,3016=RETRY_NOW", "3011=terminal_declined", " 3011 = retry_now , ",
		"3011=RETRY_NOW,3011=RETRY_INVITE", "3000=RETRY_NOW", "3300=RETRY_NOW", "3201=RETRY_NOW", "abc=RETRY_NOW",
		"3011", "3011=", "=RETRY_NOW", "3011=NOPE", "+3011=COMPLIANCE", "03011=COMPLIANCE", "3011=RETRY_NOW=X",
		",,,", "99999999999999999999=RETRY_NOW", "-3011=RETRY_NOW", "3011=RETRY_NOW\n,3012=WAIT_USER_DATA",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParsePolicyOverrides(s)
		if err != nil {
			if got != nil {
				t.Fatalf("ParsePolicyOverrides(%q) returned a map with error %v", s, err)
			}
			return
		}
		items := 0
		for _, item := range strings.Split(s, ",") {
			if strings.TrimSpace(item) != "" {
				items++
			}
		}
		if len(got) != items {
			t.Fatalf("ParsePolicyOverrides(%q) = %v: %d entries for %d items", s, got, len(got), items)
		}
		for code, p := range got {
			if code < minOverrideCode || code > maxOverrideCode || !p.Valid() {
				t.Fatalf("ParsePolicyOverrides(%q) accepted %d=%q", s, code, p)
			}
		}
		again, err := ParsePolicyOverrides(formatPolicyOverrides(got))
		if err != nil || fmt.Sprint(again) != fmt.Sprint(got) {
			t.Fatalf("round trip of %q: %v -> %v (%v)", s, got, again, err)
		}
	})
}

// formatPolicyOverrides writes m in the documented CODE=POLICY,... form, codes ascending.
func formatPolicyOverrides(m map[int]Policy) string {
	codes := make([]int, 0, len(m))
	for c := range m {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	items := make([]string, len(codes))
	for i, c := range codes {
		items[i] = fmt.Sprintf("%d=%s", c, m[c])
	}
	return strings.Join(items, ",")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func contains(values []string, v string) bool {
	for _, x := range values {
		if x == v {
			return true
		}
	}
	return false
}
