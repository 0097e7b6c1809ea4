package treezor

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// readSeedReasons reads testdata/seed-reasons.txt: "code|message" lines copied from
// Treezor's QES guide.
func readSeedReasons(t *testing.T) map[int]string {
	t.Helper()
	f, err := os.Open("testdata/seed-reasons.txt")
	require.NoError(t, err)
	defer f.Close()
	seed := map[int]string{}
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		codeText, message, ok := strings.Cut(line, "|")
		require.True(t, ok, "bad seed line %q", line)
		code, err := strconv.Atoi(codeText)
		require.NoError(t, err)
		_, dup := seed[code]
		require.False(t, dup, "seed lists %d twice", code)
		seed[code] = message
	}
	require.NoError(t, scanner.Err())
	return seed
}

func TestCatalogEqualsSeed(t *testing.T) {
	seed := readSeedReasons(t)
	require.Len(t, seed, 21+41+15, "seed: aborted 3001–3021, canceled 3101–3141, fraud 3201–3215")

	count := map[int]int{}
	for _, row := range reasonTable {
		count[row.code]++
	}
	for code, message := range seed {
		require.Equal(t, 1, count[code], "code %d must appear exactly once in the catalog", code)
		r := LookupReason(code)
		require.True(t, r.Known, "code %d", code)
		require.Equal(t, message, r.Message, "code %d", code)
		require.NotEmpty(t, r.Description, "code %d", code)
	}
	for code := range count {
		_, inSeed := seed[code]
		require.True(t, inSeed, "catalog code %d is not in the seed", code)
	}
	require.Len(t, Reasons(), len(seed))
}

func TestCatalogCategories(t *testing.T) {
	for _, r := range Reasons() {
		want := map[int]Category{30: CategoryAborted, 31: CategoryCanceled, 32: CategoryFraud}[r.Code/100]
		require.Equal(t, want, r.Category, "code %d", r.Code)
	}
}

// codes expands inclusive ranges and single codes.
func codes(spans ...[2]int) []int {
	var out []int
	for _, s := range spans {
		for c := s[0]; c <= s[1]; c++ {
			out = append(out, c)
		}
	}
	return out
}

func one(c int) [2]int { return [2]int{c, c} }

func TestCatalogDefaultPolicies(t *testing.T) {
	// docs/reasons.md, written out independently of the catalog table: user data held at
	// Treezor (3009 name, 3010 phone) waits for corrected data and a restart; a mistake or
	// delay of the user (3020, 3138, 3140) is a user retry, not a technical one.
	want := map[Policy][]int{
		PolicyRetryInvite: codes(one(3004), one(3006), one(3007), one(3011), one(3013), one(3015), one(3016), one(3020),
			[2]int{3101, 3107}, [2]int{3110, 3127}, [2]int{3129, 3134}, one(3128), one(3138), one(3140)),
		PolicyRetryNow:            codes(one(3017), one(3018), one(3019), one(3021), [2]int{3135, 3137}, one(3139), one(3141)),
		PolicyRetryNewDocument:    codes(one(3001), one(3002), one(3108), one(3109)),
		PolicyWaitUserData:        codes(one(3009), one(3010)),
		PolicyTerminalDeclined:    codes(one(3005), one(3008), one(3012), one(3014)),
		PolicyTerminalNotEligible: codes(one(3003)),
		PolicyCompliance:          codes([2]int{3201, 3215}),
	}
	assigned := map[int]Policy{}
	for policy, list := range want {
		for _, code := range list {
			_, dup := assigned[code]
			require.False(t, dup, "test table assigns %d twice", code)
			assigned[code] = policy
		}
	}
	all := Reasons()
	require.Len(t, assigned, len(all), "every catalog code has a policy in the list above")
	for _, r := range all {
		require.Equal(t, assigned[r.Code], r.Policy, "code %d %s", r.Code, r.Message)
	}
}

func TestLookupUnknownReason(t *testing.T) {
	tests := []struct {
		code     int
		category Category
		policy   Policy
	}{
		{3000, CategoryAborted, PolicyRetryInvite},
		{3099, CategoryAborted, PolicyRetryInvite},
		{3142, CategoryCanceled, PolicyRetryInvite},
		{3216, CategoryFraud, PolicyCompliance},
		{3299, CategoryFraud, PolicyCompliance},
		{0, CategoryUnknown, PolicyRetryInvite},
		{42, CategoryUnknown, PolicyRetryInvite},
		{3300, CategoryUnknown, PolicyRetryInvite},
		{-3001, CategoryUnknown, PolicyRetryInvite},
	}
	for _, tt := range tests {
		r := LookupReason(tt.code)
		require.Equal(t, Reason{Code: tt.code, Message: UnknownReasonMessage, Category: tt.category, Policy: tt.policy}, r)
	}
}

func TestReasonsReturnsACopy(t *testing.T) {
	all := Reasons()
	for i := 1; i < len(all); i++ {
		require.Less(t, all[i-1].Code, all[i].Code)
	}
	all[0].Policy = PolicyCompliance
	require.Equal(t, PolicyRetryNewDocument, LookupReason(3001).Policy)
}

func TestParsePolicyOverrides(t *testing.T) {
	tests := []struct {
		in      string
		want    map[int]Policy
		wantErr string
	}{
		{in: "", want: map[int]Policy{}},
		{in: "  ", want: map[int]Policy{}},
		{in: "3011=TERMINAL_DECLINED,3016=RETRY_NOW", want: map[int]Policy{3011: PolicyTerminalDeclined, 3016: PolicyRetryNow}},
		{in: " 3011 = terminal_declined , ,3299=COMPLIANCE,", want: map[int]Policy{3011: PolicyTerminalDeclined, 3299: PolicyCompliance}},
		{in: "3011", wantErr: "want CODE=POLICY"},
		{in: "abc=RETRY_NOW", wantErr: `code "abc" is not a number`},
		{in: "3000=RETRY_NOW", wantErr: "outside 3001–3299"},
		{in: "3300=RETRY_NOW", wantErr: "outside 3001–3299"},
		{in: "3011=RETRY_LATER", wantErr: `unknown policy "RETRY_LATER"`},
		{in: "3011=", wantErr: "unknown policy"},
		{in: "3011=RETRY_NOW,3011=COMPLIANCE", wantErr: "code 3011 given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePolicyOverrides(tt.in)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.Nil(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestPolicyHelpers(t *testing.T) {
	for _, p := range Policies {
		require.True(t, p.Valid())
	}
	require.False(t, Policy("NOPE").Valid())
	require.True(t, PolicyTerminalDeclined.Terminal())
	require.True(t, PolicyTerminalNotEligible.Terminal())
	require.False(t, PolicyCompliance.Terminal())
}

func TestClassifyResult(t *testing.T) {
	tests := map[string]ResultClass{
		"SUCCESS":                   ResultClassSuccess,
		" success ":                 ResultClassSuccess,
		"SUCCESS_DATA_CHANGED":      ResultClassSuccess,
		"REVIEW_PENDING":            ResultClassPending,
		"check_pending":             ResultClassPending,
		"FRAUD_SUSPICION_PENDING":   ResultClassFraud,
		"FRAUD_SUSPICION_CONFIRMED": ResultClassFraud,
		"SUSPECTED_FRAUD":           ResultClassFraud,
		"fraud":                     ResultClassFraud,
		"CANCELED":                  ResultClassCanceled,
		"Cancelled":                 ResultClassCanceled,
		"ABORTED":                   ResultClassAborted,
		"":                          ResultClassUnknown,
		"SUCCESSFUL":                ResultClassUnknown,
		"PENDING":                   ResultClassUnknown,
	}
	for in, want := range tests {
		require.Equal(t, want, ClassifyResult(in), "%q", in)
	}
}
