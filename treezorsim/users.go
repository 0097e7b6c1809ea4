package treezorsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/qesflow/qesflow/treezor"
	"go.uber.org/zap"
)

// User is a sandbox user. QES needs Firstname, Lastname, Email, Country and Phone.
type User struct {
	UserID    string `json:"userId"`
	Firstname string `json:"firstname"`
	Lastname  string `json:"lastname"`
	Email     string `json:"email"`
	Country   string `json:"country"`
	Phone     string `json:"phone"`
}

// MissingFields lists the fields QES needs that are empty, in Treezor's order.
func (u User) MissingFields() []string {
	var missing []string
	for _, f := range []struct{ name, value string }{
		{"firstname", u.Firstname}, {"lastname", u.Lastname}, {"email", u.Email},
		{"country", u.Country}, {"phone", u.Phone},
	} {
		if strings.TrimSpace(f.value) == "" {
			missing = append(missing, f.name)
		}
	}
	return missing
}

// user is the simulator's state of one user. Guarded by Simulator.mu.
type user struct {
	User
	walletID string
	// otherWallets are the user's wallets besides walletID (Treezor users may own several);
	// payins are the payins made, in order (GET /v1/payins lists them).
	otherWallets    []string
	payins          []payinRecord
	kycReview       treezor.KYCReview
	kycLevel        int
	review          *reviewRequest // the pending KYC review request, if any
	identifications []string       // in creation order
}

// Treezor kycLevel values the simulator uses.
const (
	kycLevelNone    = 0
	kycLevelRegular = 2
	kycLevelRefused = 4
)

var validUserID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func (u *user) isDE() bool { return strings.EqualFold(strings.TrimSpace(u.Country), "DE") }

// CreateUser creates a user and returns its id (generated when u.UserID is empty). A user
// with the same id is replaced, keeping its identifications and KYC state. It panics on an
// id that is not 1–64 letters, digits, '-' or '_' (a programming error in a test).
func (s *Simulator) CreateUser(u User) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.UserID != "" && !validUserID.MatchString(u.UserID) {
		panic(fmt.Sprintf("treezorsim: invalid user id %q", u.UserID))
	}
	if existing, ok := s.users[u.UserID]; ok {
		existing.User = u
		s.changedLocked()
		return u.UserID
	}
	return s.addUserLocked(u).UserID
}

// addUserLocked stores a new user. Caller holds s.mu and checked the id.
func (s *Simulator) addUserLocked(u User) *user {
	if u.UserID == "" {
		u.UserID = s.newNumericID()
	}
	nu := &user{User: u, walletID: s.newNumericID(), kycLevel: kycLevelNone}
	if s.variants.PayinOtherWallet {
		nu.otherWallets = []string{s.newNumericID()}
	}
	s.users[u.UserID] = nu
	s.userOrder = append(s.userOrder, u.UserID)
	s.changedLocked()
	return nu
}

// UpdateUser replaces the non-empty fields of u on the user u.UserID.
func (s *Simulator) UpdateUser(u User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	existing, ok := s.users[u.UserID]
	if !ok {
		return fmt.Errorf("update user %s: %w", u.UserID, ErrUnknownUser)
	}
	for _, f := range []struct {
		dst *string
		v   string
	}{
		{&existing.Firstname, u.Firstname}, {&existing.Lastname, u.Lastname}, {&existing.Email, u.Email},
		{&existing.Country, u.Country}, {&existing.Phone, u.Phone},
	} {
		if f.v != "" {
			*f.dst = f.v
		}
	}
	s.changedLocked()
	return nil
}

// User returns the user's data.
func (s *Simulator) User(userID string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[userID]
	if !ok {
		return User{}, false
	}
	return u.User, true
}

// KYCStatus returns the user's kycReview and kycLevel.
func (s *Simulator) KYCStatus(userID string) (review treezor.KYCReview, level int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[userID]
	if !ok {
		return 0, 0, false
	}
	return u.kycReview, u.kycLevel, true
}

// userBody is the JSON of POST and PUT /v1/users; nil fields are left unchanged by PUT.
type userBody struct {
	UserID    flexString `json:"userId"`
	Firstname *string    `json:"firstname"`
	Lastname  *string    `json:"lastname"`
	Email     *string    `json:"email"`
	Country   *string    `json:"country"`
	Phone     *string    `json:"phone"`
}

func (b userBody) applyTo(u *User) {
	for _, f := range []struct {
		dst *string
		v   *string
	}{
		{&u.Firstname, b.Firstname}, {&u.Lastname, b.Lastname}, {&u.Email, b.Email},
		{&u.Country, b.Country}, {&u.Phone, b.Phone},
	} {
		if f.v != nil {
			*f.dst = strings.TrimSpace(*f.v)
		}
	}
}

// handleCreateUser is POST /v1/users.
func (s *Simulator) handleCreateUser(w http.ResponseWriter, r *http.Request) {
	var body userBody
	if err := decodeJSON(w, r, &body); err != nil {
		writeTreezorError(w, http.StatusBadRequest, "invalid_request", "input_validation_error", err.Error())
		return
	}
	u := User{UserID: string(body.UserID)}
	body.applyTo(&u)
	if u.UserID != "" && !validUserID.MatchString(u.UserID) {
		writeTreezorError(w, http.StatusBadRequest, "invalid_request", "input_validation_error", "userId must be 1-64 letters, digits, '-' or '_'")
		return
	}
	s.mu.Lock()
	if _, taken := s.users[u.UserID]; taken {
		s.mu.Unlock()
		writeTreezorError(w, http.StatusConflict, "invalid_request", "conflict", "a user with this userId already exists")
		return
	}
	nu := s.addUserLocked(u)
	answer := nu.json()
	s.mu.Unlock()
	s.log.Info("user created", zap.String("user_id", u.UserID))
	writeJSON(w, http.StatusOK, map[string]any{"users": []userJSON{answer}})
}

// handleUpdateUser is PUT /v1/users/{userId}.
func (s *Simulator) handleUpdateUser(w http.ResponseWriter, r *http.Request) {
	userID := r.PathValue("userId")
	var body userBody
	if err := decodeJSON(w, r, &body); err != nil {
		writeTreezorError(w, http.StatusBadRequest, "invalid_request", "input_validation_error", err.Error())
		return
	}
	s.mu.Lock()
	u, ok := s.users[userID]
	if !ok {
		s.mu.Unlock()
		writeTreezorError(w, http.StatusNotFound, "invalid_request", "resource_not_found", "user not found")
		return
	}
	body.applyTo(&u.User)
	s.changedLocked()
	answer := u.json()
	s.mu.Unlock()
	s.log.Info("user updated", zap.String("user_id", userID))
	writeJSON(w, http.StatusOK, map[string]any{"users": []userJSON{answer}})
}

// handleGetUser is GET /v1/users/{userId}.
func (s *Simulator) handleGetUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	u, ok := s.users[r.PathValue("userId")]
	var answer userJSON
	if ok {
		answer = u.json()
	}
	s.mu.Unlock()
	if !ok {
		writeTreezorError(w, http.StatusNotFound, "invalid_request", "resource_not_found", "user not found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": []userJSON{answer}})
}

// userJSON is Treezor's user object as the simulator answers it (numbers as strings), with
// the fields of the contract fixtures (treezor/testdata/contract/api/user.json).
type userJSON struct {
	UserID           string `json:"userId"`
	UserTypeID       string `json:"userTypeId"`
	UserStatus       string `json:"userStatus"`
	KYCReviewComment string `json:"kycReviewComment"`
	Firstname        string `json:"firstname"`
	Lastname         string `json:"lastname"`
	Email            string `json:"email"`
	Country          string `json:"country"`
	Phone            string `json:"phone"`
	KYCReview        string `json:"kycReview"`
	KYCLevel         string `json:"kycLevel"`
}

// json renders the user. Caller holds s.mu.
func (u *user) json() userJSON {
	return userJSON{
		UserID: u.UserID, UserTypeID: "1", UserStatus: "VALIDATED", Firstname: u.Firstname, Lastname: u.Lastname, Email: u.Email,
		Country: u.Country, Phone: u.Phone,
		KYCReview: strconv.Itoa(int(u.kycReview)), KYCLevel: strconv.Itoa(u.kycLevel),
	}
}

// flexString decodes a JSON string or number into a string.
type flexString string

// UnmarshalJSON accepts a string, a number or null.
func (f *flexString) UnmarshalJSON(b []byte) error {
	var v any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return err
	}
	switch x := v.(type) {
	case nil:
		*f = ""
	case string:
		*f = flexString(strings.TrimSpace(x))
	case json.Number:
		*f = flexString(x.String())
	default:
		return fmt.Errorf("want a string or a number, got %s", b)
	}
	return nil
}

// decodeJSON decodes a size-limited JSON body into v; an empty body leaves v unchanged.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return fmt.Errorf("invalid JSON body: %w", err)
	}
	return nil
}
