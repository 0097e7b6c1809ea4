package treezor

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Category groups QES reason codes the way Treezor's guide does.
type Category string

// Reason categories (seed: Aborted 3001–3021, Canceled 3101–3141, Fraud suspicion 3201–3215).
const (
	CategoryAborted  Category = "ABORTED"
	CategoryCanceled Category = "CANCELED"
	CategoryFraud    Category = "FRAUD_SUSPICION"
	CategoryUnknown  Category = "UNKNOWN"
)

// Policy is what the onboarding does after an identification ended with a reason code.
type Policy string

// Policies (docs/reasons.md lists the policy of every code and why).
const (
	// PolicyRetryInvite starts a new attempt; the user is invited back.
	PolicyRetryInvite Policy = "RETRY_INVITE"
	// PolicyRetryNow starts a new attempt at once (provider or signing side technical failure).
	PolicyRetryNow Policy = "RETRY_NOW"
	// PolicyRetryNewDocument starts a new attempt; the user must bring another document.
	PolicyRetryNewDocument Policy = "RETRY_NEW_DOCUMENT"
	// PolicyWaitUserData waits until the user's data was corrected, then retries.
	PolicyWaitUserData Policy = "WAIT_USER_DATA"
	// PolicyTerminalDeclined ends the onboarding: the user declined.
	PolicyTerminalDeclined Policy = "TERMINAL_DECLINED"
	// PolicyTerminalNotEligible ends the onboarding: the user is not eligible.
	PolicyTerminalNotEligible Policy = "TERMINAL_NOT_ELIGIBLE"
	// PolicyCompliance routes the onboarding to compliance; never retried automatically.
	PolicyCompliance Policy = "COMPLIANCE"
)

// Policies lists every valid policy.
var Policies = []Policy{
	PolicyRetryInvite, PolicyRetryNow, PolicyRetryNewDocument, PolicyWaitUserData,
	PolicyTerminalDeclined, PolicyTerminalNotEligible, PolicyCompliance,
}

// Valid reports whether p is one of the defined policies.
func (p Policy) Valid() bool {
	for _, known := range Policies {
		if p == known {
			return true
		}
	}
	return false
}

// Terminal reports whether the policy ends the onboarding without a new attempt.
func (p Policy) Terminal() bool {
	return p == PolicyTerminalDeclined || p == PolicyTerminalNotEligible
}

// UnknownReasonMessage is the Message of a Reason whose code is not in the catalog.
const UnknownReasonMessage = "UNKNOWN_REASON"

// Reason is one entry of the QES reason catalog.
type Reason struct {
	Code        int
	Message     string
	Description string
	Category    Category
	Policy      Policy
	// Known is false when the code is not in the catalog (a safe default was chosen).
	Known bool
}

// reasonRow is one line of the catalog table.
type reasonRow struct {
	code        int
	message     string
	category    Category
	policy      Policy
	description string
}

// reasonTable is the whole catalog: every reason code of Treezor's QES guide with its
// message and description (provider reference data) and qesflow's default policy.
var reasonTable = []reasonRow{
	{3001, "USER_CANCELLATION_DOCUMENT_NOT_ACCEPTED", CategoryAborted, PolicyRetryNewDocument, "User's ID document is not accepted for the verification process"},
	{3002, "USER_CANCELLATION_DOCUMENT_EXPIRED", CategoryAborted, PolicyRetryNewDocument, "User cannot continue the verification process due to an expired ID document"},
	{3003, "USER_CANCELLATION_UNDERAGE", CategoryAborted, PolicyTerminalNotEligible, "User is underage and is not allowed to continue the verification process"},
	{3004, "USER_CANCELLATION_CAMERA_ACCESS_DENIED", CategoryAborted, PolicyRetryInvite, "User does not allow camera permission in the app"},
	{3005, "USER_CANCELLATION_TERMS_DENIED", CategoryAborted, PolicyTerminalDeclined, "User does not accept the terms and conditions"},
	{3006, "USER_CANCELLATION_SELFIE_NOT_READY", CategoryAborted, PolicyRetryInvite, "User is not ready for a selfie"},
	{3007, "USER_CANCELLATION_APP_NOT_SCANNING", CategoryAborted, PolicyRetryInvite, "User aborts as the app is not scanning the document"},
	{3008, "USER_CANCELLATION_ESIGNING_REJECTED", CategoryAborted, PolicyTerminalDeclined, "User does not accept the esigning request"},
	{3009, "USER_CANCELLATION_ESIGNING_NAME_CONFIRMATION_REJECTED", CategoryAborted, PolicyWaitUserData, "User's name is specified incorrectly (This applies only to the QES/Signing flow)"},
	{3010, "USER_CANCELLATION_INCORRECT_PHONE_NUMBER", CategoryAborted, PolicyWaitUserData, "User cancels as the phone number is specified incorrectly"},
	{3011, "USER_CANCELLATION_IDENTIFY_LATER", CategoryAborted, PolicyRetryInvite, "User wants to identify later"},
	{3012, "USER_CANCELLATION_USER_NOT_INTERESTED", CategoryAborted, PolicyTerminalDeclined, "User is not interested in performing the identity verification"},
	{3013, "USER_CANCELLATION_APP_NOT_RESPONDING", CategoryAborted, PolicyRetryInvite, "User aborts because the app is not responding"},
	{3014, "USER_CANCELLATION_PRIVACY_CONCERNS", CategoryAborted, PolicyTerminalDeclined, "User aborts due to privacy concerns"},
	{3015, "USER_CANCELLATION_DOCUMENT_NOT_AVAILABLE", CategoryAborted, PolicyRetryInvite, "User does not have the ID document available and aborts"},
	{3016, "USER_CANCELLATION_OTHER", CategoryAborted, PolicyRetryInvite, "User aborts the identification process in app for any other unspecified reason"},
	{3017, "APP_CANCELLATION_APPROVAL_PHRASE_RETRY_LIMIT_REACHED", CategoryAborted, PolicyRetryNow, "This is used in the QES/esign flow when the app is unable to retrieve the approval phrases from the backend after multiple retries"},
	{3018, "APP_CANCELLATION_APPROVAL_PHRASE_NO_CONTRACT", CategoryAborted, PolicyRetryNow, "App encounters a technical error in the Approval Phrases step in QES/esign"},
	{3019, "APP_CANCELLATION_APPROVAL_PHRASE_INSUFFICIENT_DOCUMENT_COUNT", CategoryAborted, PolicyRetryNow, "In the Approval Phrases step for QES/esign, the required number of documents to be signed are not received from backend"},
	{3020, "APP_CANCELLATION_OTP_MATCH_LIMIT_REACHED", CategoryAborted, PolicyRetryInvite, "In the OTP Authentication step, the user has reached the allowed limit for number of OTP entries and cannot try again"},
	{3021, "APP_CANCELLATION_TSP_TECHNICAL_EXCEPTION", CategoryAborted, PolicyRetryNow, "App encounters a technical error from the TSP side. If this error state does not resolve after multiple automatic retries, the user cannot proceed further and the ident is aborted with this reason"},
	{3101, "ID_BLURRY", CategoryCanceled, PolicyRetryInvite, "Document is blurry and mandatory data cannot be read due to the blur."},
	{3102, "ID_GLARE", CategoryCanceled, PolicyRetryInvite, "Document has glare and mandatory data cannot be read due to the glare."},
	{3103, "ID_DARKNESS", CategoryCanceled, PolicyRetryInvite, "Pictures of the document are dark and it is not possible to read the mandatory data or verify the authenticity of the document."},
	{3104, "ID_DATA_COVERED", CategoryCanceled, PolicyRetryInvite, "Mandatory data is covered by the user while taking the picture"},
	{3105, "ID_PERSPECTIVE", CategoryCanceled, PolicyRetryInvite, "Document is positioned at such an angle that mandatory data cannot be read or document cannot be verified"},
	{3106, "ID_DATA", CategoryCanceled, PolicyRetryInvite, "Mandatory data cannot be read on the document"},
	{3107, "ID_DATA_OTHER", CategoryCanceled, PolicyRetryInvite, "Any other reason due to which mandatory data cannot be read"},
	{3108, "ID_NOT_SUPPORTED", CategoryCanceled, PolicyRetryNewDocument, "Document used during the identification is not supported for the customer's use case"},
	{3109, "ID_EXPIRED", CategoryCanceled, PolicyRetryNewDocument, "Document used during the identification is expired."},
	{3110, "ID_WRONG_SIDE", CategoryCanceled, PolicyRetryInvite, "Wrong side of the document is scanned during the process."},
	{3111, "ID_OUTWORN", CategoryCanceled, PolicyRetryInvite, "Document is worn out. Either data cannot be read out or the document cannot be verified."},
	{3112, "ID_HAS_STICKER", CategoryCanceled, PolicyRetryInvite, "Document has such stickers which are not acceptable and the document used is considered as damaged document."},
	{3113, "ID_WRITTEN_ON", CategoryCanceled, PolicyRetryInvite, "Document has text written over it which makes the document not readable or not verifiable. If the sticker is legit one and added by the authorities while issuing the document then the document will be acceptable and not cancelled due to this reason."},
	{3114, "ID_BROKEN", CategoryCanceled, PolicyRetryInvite, "Document used during the identification is broken."},
	{3115, "ID_DAMAGED", CategoryCanceled, PolicyRetryInvite, "Document used during identification is a damaged document."},
	{3116, "ID_DAMAGED_OTHER", CategoryCanceled, PolicyRetryInvite, "Any other reason for a damaged document."},
	{3117, "ID_SECURITY_FEATURE_NOT_VISIBLE_NOT_FRAUD", CategoryCanceled, PolicyRetryInvite, "Security features of the document are not visible because user did not move the document correctly."},
	{3118, "ID_SECURITY_FEATURE_VIDEO_SHORT", CategoryCanceled, PolicyRetryInvite, "Security feature video is too short to detect if there are holograms in the document."},
	{3119, "ID_SECURITY_FEATURE_VIDEO_CANNOT_BE_PLAYED", CategoryCanceled, PolicyRetryInvite, "Security feature video cannot be played for the agent to review holograms."},
	{3120, "ID_SECURITY_FEATURE_OTHER", CategoryCanceled, PolicyRetryInvite, "Any other issues with the security feature video."},
	{3121, "ID_SECOND_DOCUMENT", CategoryCanceled, PolicyRetryInvite, "If two documents are required for the identification process, the user needs to photograph two different documents (i.e. ID + Driver's license) - If the second required ID document is not available, the ident will be cancelled."},
	{3122, "ID_SECOND_DOCUMENT_BAD_PHOTO_QUALITY", CategoryCanceled, PolicyRetryInvite, "Photo quality of the additional document in the process is not acceptable."},
	{3123, "ID_SECOND_DOCUMENT_DAMAGED", CategoryCanceled, PolicyRetryInvite, "Additional document used in the identification process is severely outworn, written or drawn on, ripped or broken."},
	{3124, "ID_SECOND_DOCUMENT_EXPIRED", CategoryCanceled, PolicyRetryInvite, "Additional document used in the identification process is an expired document."},
	{3125, "ID_SECOND_DOCUMENT_OTHER", CategoryCanceled, PolicyRetryInvite, "Any other issues with the additional document used in the identification process."},
	{3126, "ID_NEED_ADDITIONAL_DOCUMENT", CategoryCanceled, PolicyRetryInvite, "Additional document like Driver's License is missing in the identification process but it was required."},
	{3127, "ID_OTHER", CategoryCanceled, PolicyRetryInvite, "Any other issues with the document used in the identification process."},
	{3128, "USER_INVOICE_MISSING", CategoryCanceled, PolicyRetryInvite, "Customer needs proof of address from the user as the additional document but user did not provide it in the identification process."},
	{3129, "USER_OBSCURED", CategoryCanceled, PolicyRetryInvite, "User has covered the face during the face comparison process unintentionally like wearing the face mask."},
	{3130, "SELFIE_BLURRY", CategoryCanceled, PolicyRetryInvite, "Selfie taken by the user is blurry and cannot be used to compare the face with the identification document."},
	{3131, "SELFIE_GLARE", CategoryCanceled, PolicyRetryInvite, "Photo of the user on the ID document has glares and selfie cannot be compared with it."},
	{3132, "SELFIE_DARKNESS", CategoryCanceled, PolicyRetryInvite, "Selfie taken by the user is too dark to compare the face of the person with the photo on the identification document."},
	{3133, "SELFIE_PERSPECTIVE", CategoryCanceled, PolicyRetryInvite, "Selfie taken by the user is on such an angle that it is not possible to compare it with the photo on the identification document."},
	{3134, "SELFIE_OTHER", CategoryCanceled, PolicyRetryInvite, "Any other issues with the selfie which restrict ident specialist to compare the selfie of the user with the photo on the identification document."},
	{3135, "IDENT_CANNOT_BE_COMPLETED", CategoryCanceled, PolicyRetryNow, "Due to a technical reason, ident specialist cannot finish the identity verification process."},
	{3136, "IDENT_DISPLAY_ERROR", CategoryCanceled, PolicyRetryNow, "Due to a technical reason, ident specialist cannot see the data submitted by the user in the identification process."},
	{3137, "IDENT_OTHER", CategoryCanceled, PolicyRetryNow, "Any other reason due to which the identification process cannot be completed by the ident specialist."},
	{3138, "TSP_WRONG_CONFIRMATION_TOKEN", CategoryCanceled, PolicyRetryInvite, "A wrong signing code was entered by the user during the signing step."},
	{3139, "TSP_SIGNING_FAILED", CategoryCanceled, PolicyRetryNow, "The signing process failed due to any technical error."},
	{3140, "TSP_CERTIFICATE_EXPIRED", CategoryCanceled, PolicyRetryInvite, "Signing certificates are valid for an hour. The final signing step took more than an hour from the time of certificate generation."},
	{3141, "ID_SECURITY_FEATURE_VIDEO_FILE_MISSING", CategoryCanceled, PolicyRetryNow, "If enabled, the system automatically cancels an ident when the 'Security Features' (Hologram) video is not saved due to any technical error, and is hence missing from the final result (zip) file."},
	{3201, "WARNING_SELFIE_REAL_PERSON", CategoryFraud, PolicyCompliance, "User that performed the identification is a real person but the selfie does not match with the face on the document."},
	{3202, "WARNING_SELFIE_NO_REAL_PERSON", CategoryFraud, PolicyCompliance, "Selfie taken in the identification person is not of a real person. For example, the selfie taken is a photo of a picture."},
	{3203, "WARNING_SELFIE_DISGUISED", CategoryFraud, PolicyCompliance, "User intentionally disguised the face by wearing a mask or in some other way."},
	{3204, "WARNING_MANIPULATED_DATA", CategoryFraud, PolicyCompliance, "Data is manipulated on the Identification document."},
	{3205, "WARNING_MANIPULATED_PHOTO", CategoryFraud, PolicyCompliance, "Photo of the person is manipulated on the Identification document."},
	{3206, "WARNING_FAKED_SECURITY_FEATURES", CategoryFraud, PolicyCompliance, "Security features like holograms on the Identification document are not real."},
	{3207, "WARNING_PAPER_PRINT", CategoryFraud, PolicyCompliance, "The Identification document is not real but a printout taken on a paper."},
	{3208, "WARNING_DIGITAL_DOCUMENT", CategoryFraud, PolicyCompliance, "Identification document image is taken from a digital screen (from laptop, from mobile or from any other screen)."},
	{3209, "WARNING_FAKED_SPECIMEN", CategoryFraud, PolicyCompliance, "Identification document is a specimen document and not real document."},
	{3210, "WARNING_USER_UNDERAGE", CategoryFraud, PolicyCompliance, "User is below the age required to access the customer's service."},
	{3211, "WARNING_DIGITAL_SELFIE", CategoryFraud, PolicyCompliance, "Selfie is taken from a digital screen (from laptop, from mobile or from any other screen)."},
	{3212, "WARNING_MONEY_MULE", CategoryFraud, PolicyCompliance, "User is duped by fraudster to perform identification on fraudster's behalf."},
	{3213, "WARNING_NAME_COMPARISON", CategoryFraud, PolicyCompliance, "Considerable inconsistency between user's name and document."},
	{3214, "WARNING_SCAN", CategoryFraud, PolicyCompliance, "Identification document is a facsimile."},
	{3215, "WARNING_FRAUD_OTHER", CategoryFraud, PolicyCompliance, "Any other type of fraud identified during the verification process by Ident specialist."},
}

// catalog indexes reasonTable by code.
var catalog = buildCatalog(reasonTable)

func buildCatalog(rows []reasonRow) map[int]Reason {
	m := make(map[int]Reason, len(rows))
	for _, r := range rows {
		if _, dup := m[r.code]; dup {
			panic(fmt.Sprintf("treezor: reason code %d appears twice in the catalog", r.code))
		}
		m[r.code] = Reason{
			Code:        r.code,
			Message:     r.message,
			Description: r.description,
			Category:    r.category,
			Policy:      r.policy,
			Known:       true,
		}
	}
	return m
}

// LookupReason returns the catalog entry of code. Unknown codes get a safe default with
// Known=false and Message UNKNOWN_REASON: 30xx/31xx retry with an invitation (category
// aborted/canceled), 32xx go to compliance (fraud), anything else is CategoryUnknown with
// RETRY_INVITE.
func LookupReason(code int) Reason {
	if r, ok := catalog[code]; ok {
		return r
	}
	r := Reason{Code: code, Message: UnknownReasonMessage, Category: CategoryUnknown, Policy: PolicyRetryInvite}
	switch {
	case code >= 3000 && code < 3100:
		r.Category = CategoryAborted
	case code >= 3100 && code < 3200:
		r.Category = CategoryCanceled
	case code >= 3200 && code < 3300:
		r.Category, r.Policy = CategoryFraud, PolicyCompliance
	}
	return r
}

// Reasons returns a copy of the whole catalog in code order.
func Reasons() []Reason {
	out := make([]Reason, 0, len(catalog))
	for _, r := range catalog {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

// Lowest and highest reason code accepted in a policy override.
const (
	minOverrideCode = 3001
	maxOverrideCode = 3299
)

// ParsePolicyOverrides parses "3011=TERMINAL_DECLINED,3016=RETRY_NOW" into a map. Blank
// input gives an empty map. Codes must lie in 3001–3299, policies must be valid names
// (case-insensitive), and a code may appear only once.
func ParsePolicyOverrides(s string) (map[int]Policy, error) {
	out := map[int]Policy{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		code, policy, err := parsePolicyOverride(item)
		if err != nil {
			return nil, err
		}
		if _, dup := out[code]; dup {
			return nil, fmt.Errorf("policy override: code %d given twice", code)
		}
		out[code] = policy
	}
	return out, nil
}

func parsePolicyOverride(item string) (int, Policy, error) {
	codeText, policyText, ok := strings.Cut(item, "=")
	if !ok {
		return 0, "", fmt.Errorf("policy override %q: want CODE=POLICY", item)
	}
	code, err := strconv.Atoi(strings.TrimSpace(codeText))
	if err != nil {
		return 0, "", fmt.Errorf("policy override %q: code %q is not a number", item, strings.TrimSpace(codeText))
	}
	if code < minOverrideCode || code > maxOverrideCode {
		return 0, "", fmt.Errorf("policy override %q: code %d outside %d–%d", item, code, minOverrideCode, maxOverrideCode)
	}
	policy := Policy(strings.ToUpper(strings.TrimSpace(policyText)))
	if !policy.Valid() {
		return 0, "", fmt.Errorf("policy override %q: unknown policy %q (want one of %s)", item, strings.TrimSpace(policyText), policyNames())
	}
	return code, policy, nil
}

func policyNames() string {
	names := make([]string, len(Policies))
	for i, p := range Policies {
		names[i] = string(p)
	}
	return strings.Join(names, ", ")
}
