package activities

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAccessTagIsDeterministicAndDistinct(t *testing.T) {
	require.Equal(t, "qesflow:42:run-a:qes:1", AccessTag("42", "run-a", StepQES, 1))
	require.Equal(t, AccessTag("42", "run-a", StepQES, 1), AccessTag("42", "run-a", StepQES, 1))

	seen := map[string]bool{}
	for _, user := range []string{"42", "43"} {
		for _, onboarding := range []string{"run-a", "run-b"} {
			for _, step := range []string{StepQES, StepKYCReview} {
				for n := 1; n <= 3; n++ {
					tag := AccessTag(user, onboarding, step, n)
					require.False(t, seen[tag], "tag %s repeats", tag)
					seen[tag] = true
				}
			}
		}
	}
}

func TestAccessTagStaysWithinTreezorLimit(t *testing.T) {
	long := strings.Repeat("u", 400)
	run := "01a21760-7401-7328-bbd6-d0f4fb69e943"
	tag := AccessTag(long, run, StepKYCReview, 12)
	require.LessOrEqual(t, len(tag), MaxAccessTagLen)
	require.Equal(t, tag, AccessTag(long, run, StepKYCReview, 12))
	require.NotEqual(t, tag, AccessTag(long+"x", run, StepKYCReview, 12))
	require.True(t, strings.HasSuffix(tag, ":"+run+":kycreview:12"), tag)
}
