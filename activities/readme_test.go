package activities

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestREADMEAccessTagFormat keeps the access tag format the README gives true: filled in, it
// is what AccessTag builds.
func TestREADMEAccessTagFormat(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	m := regexp.MustCompile("`(qesflow:\\{userId\\}[^`]*)`").FindSubmatch(readme)
	require.NotNil(t, m, "the README gives the access tag format as `qesflow:{userId}...`")
	for _, step := range []string{StepQES, StepKYCReview} {
		filled := strings.NewReplacer("{userId}", "1001", "{onboardingId}", "run-1", "{step}", step, "{n}", "2").Replace(string(m[1]))
		require.Equal(t, AccessTag("1001", "run-1", step, 2), filled)
	}
}
