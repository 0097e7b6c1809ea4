package activities

// Registered activity names. The worker registers an *Activities value, so the names are
// its method names; the workflow schedules the activities by these constants.
const (
	InitiateQESName         = "InitiateQES"
	RequestKYCReviewName    = "RequestKYCReview"
	DownloadQESDocumentName = "DownloadQESDocument"
)
