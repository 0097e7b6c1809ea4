package activities

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAccessTagIsDeterministicAndDistinct(t *testing.T) {
	require.Equal(t, "qesflow:42:qes:1", AccessTag("42", StepQES, 1))
	require.Equal(t, AccessTag("42", StepQES, 1), AccessTag("42", StepQES, 1))

	seen := map[string]bool{}
	for _, user := range []string{"42", "43"} {
		for _, step := range []string{StepQES, StepKYCReview} {
			for n := 1; n <= 3; n++ {
				tag := AccessTag(user, step, n)
				require.False(t, seen[tag], "tag %s repeats", tag)
				seen[tag] = true
			}
		}
	}
}

func TestAccessTagStaysWithinTreezorLimit(t *testing.T) {
	long := strings.Repeat("u", 400)
	tag := AccessTag(long, StepKYCReview, 12)
	require.LessOrEqual(t, len(tag), MaxAccessTagLen)
	require.Equal(t, tag, AccessTag(long, StepKYCReview, 12))
	require.NotEqual(t, tag, AccessTag(long+"x", StepKYCReview, 12))
	require.True(t, strings.HasSuffix(tag, ":kycreview:12"), tag)
}
