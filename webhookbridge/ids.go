package webhookbridge

// Bounds of the identifiers the bridge routes by or echoes.
const (
	maxUserIDLen           = 64
	maxIdentificationIDLen = 128
	maxWebhookIDLen        = 128
)

// validRoutingID accepts 1..max characters of [A-Za-z0-9_-]: safe in a workflow id and in a
// visibility query (no quote can escape), and no path traversal.
func validRoutingID(id string, max int) bool {
	if id == "" || len(id) > max {
		return false
	}
	for _, c := range []byte(id) {
		if !isAlnum(c) && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// validWebhookID accepts 1..128 characters of [A-Za-z0-9_.:-] (UUIDs and similar).
func validWebhookID(id string) bool {
	if id == "" || len(id) > maxWebhookIDLen {
		return false
	}
	for _, c := range []byte(id) {
		if !isAlnum(c) && c != '_' && c != '-' && c != '.' && c != ':' {
			return false
		}
	}
	return true
}

// printableID is id when it is a valid webhook id, else "" (never echo or log arbitrary
// input).
func printableID(id string) string {
	if validWebhookID(id) {
		return id
	}
	return ""
}

func isAlnum(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}
