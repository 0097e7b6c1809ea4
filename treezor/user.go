package treezor

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// User is what qesflow reads of a Treezor user (GET /v1/users/{userId}): identifiers,
// the country that decides the SEPA step, and the KYC review state. No names, e-mails
// or phone numbers: the answer's other fields are not decoded.
type User struct {
	UserID    string
	Country   string
	KYCReview KYCReview
	KYCLevel  int
}

// userLookupItem is the part of Treezor's user object that GetUser decodes.
type userLookupItem struct {
	UserID    flexString `json:"userId"`
	Country   flexString `json:"country"`
	KYCReview KYCReview  `json:"kycReview"`
	KYCLevel  flexInt    `json:"kycLevel"`
}

// GetUser reads the user (GET /v1/users/{userId}; scope read_only). An unknown user is an
// *APIError with StatusCode 404.
func (c *Client) GetUser(ctx context.Context, userID string) (User, error) {
	const op = "get user"
	if err := requireID("user id", userID); err != nil {
		return User{}, fmt.Errorf("%s: %w", op, err)
	}
	var out struct {
		Users []userLookupItem `json:"users"`
	}
	path := "/v1/users/" + url.PathEscape(userID)
	if err := c.call(ctx, op, http.MethodGet, path, nil, &out); err != nil {
		return User{}, fmt.Errorf("%s %s: %w", op, userID, err)
	}
	if len(out.Users) == 0 {
		return User{}, fmt.Errorf("%s %s: %w: answer lists no user", op, userID, ErrMalformed)
	}
	u := out.Users[0]
	return User{
		UserID:    firstNonEmpty(string(u.UserID), userID),
		Country:   string(u.Country),
		KYCReview: u.KYCReview,
		KYCLevel:  int(u.KYCLevel),
	}, nil
}
