package treezorsim

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/qesflow/qesflow/treezor"
	"go.uber.org/zap"
)

// Document types a successful identification creates (Treezor documentTypeId).
var qesDocumentTypes = []int{9, 2}

// document is one QES document. Guarded by Simulator.mu.
type document struct {
	id               string
	userID           string
	identificationID string
	typeID           int
	fileName         string
	content          []byte
}

// createDocumentsLocked creates the documents of a successful identification and returns
// their document.create webhooks. Caller holds s.mu.
func (s *Simulator) createDocumentsLocked(ident *identification) []webhookSpec {
	var specs []webhookSpec
	for n, typeID := range qesDocumentTypes[:s.cfg.DocumentsPerSuccess] {
		d := &document{
			id: s.newNumericID(), userID: ident.UserID, identificationID: ident.ID, typeID: typeID,
			fileName: fmt.Sprintf("qes-%s-%d.pdf", ident.ID, n+1),
		}
		d.content = documentContent(d)
		s.documents[d.id] = d
		ident.Documents = append(ident.Documents, d.id)
		specs = append(specs, webhookSpec{
			event: treezor.EventDocumentCreate, object: objectDocument, objectID: d.id,
			payload: map[string]any{"documents": []any{map[string]any{
				"documentId": d.id, "userId": d.userID, "documentTypeId": d.typeID,
				"documentStatus": "PENDING", "fileName": d.fileName,
			}}},
		})
	}
	return specs
}

// documentContent is a small PDF-shaped payload, distinct per document.
func documentContent(d *document) []byte {
	return fmt.Appendf(nil, "%%PDF-1.4\n%% treezorsim QES document\n"+
		"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"+
		"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"+
		"%% documentId %s documentTypeId %d identificationId %s\n"+
		"trailer << /Root 1 0 R >>\n%%%%EOF\n", d.id, d.typeID, d.identificationID)
}

// DocumentContent returns the bytes served for a document.
func (s *Simulator) DocumentContent(documentID string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.documents[documentID]
	if !ok {
		return nil, false
	}
	return s.body(d), true
}

// body is the document's content, padded to Config.DocumentSize with PDF comment lines.
func (s *Simulator) body(d *document) []byte {
	out := append([]byte(nil), d.content...)
	for n := 0; len(out) < s.cfg.DocumentSize; n++ {
		out = fmt.Appendf(out, "%% padding line %08d of document %s\n", n, d.id)
	}
	return out
}

// handleDocumentDownload is GET /v1/documents/{documentId}/download: a presigned URL
// valid DocumentURLTTL.
func (s *Simulator) handleDocumentDownload(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.DownloadsEnabled {
		writeTreezorError(w, http.StatusForbidden, "forbidden", "download_not_enabled", "document download is not enabled for this client")
		return
	}
	id := r.PathValue("documentId")
	s.mu.Lock()
	_, ok := s.documents[id]
	s.mu.Unlock()
	if !ok {
		writeTreezorError(w, http.StatusNotFound, "invalid_request", "resource_not_found", "document not found")
		return
	}
	expires := s.now().Add(s.cfg.DocumentURLTTL).Unix()
	q := url.Values{"expires": {strconv.FormatInt(expires, 10)}, "sig": {s.presign(id, expires)}}
	s.log.Info("document download URL issued", zap.String("document_id", id))
	writeJSON(w, http.StatusOK, map[string]string{"url": s.publicBase(r) + "/files/" + id + "?" + q.Encode()})
}

// handleFile is GET /files/{documentId}?expires=…&sig=…: the document behind a presigned URL.
func (s *Simulator) handleFile(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("documentId")
	expires, err := strconv.ParseInt(r.URL.Query().Get("expires"), 10, 64)
	sig := r.URL.Query().Get("sig")
	if err != nil || !hmac.Equal([]byte(sig), []byte(s.presign(id, expires))) {
		writeS3Error(w, "AccessDenied", "Request signature does not match")
		return
	}
	if s.now().After(time.Unix(expires, 0)) {
		writeS3Error(w, "AccessDenied", "Request has expired")
		return
	}
	s.mu.Lock()
	d, ok := s.documents[id]
	s.mu.Unlock()
	if !ok {
		writeS3Error(w, "AccessDenied", "Access Denied")
		return
	}
	content := s.body(d)
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `attachment; filename="`+d.fileName+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(content)))
	s.writeThrottled(r.Context(), w, content)
}

// writeThrottled writes content at Config.FileBytesPerSecond (all at once when 0), in
// chunks of a tenth of a second, until the client goes away.
func (s *Simulator) writeThrottled(ctx context.Context, w http.ResponseWriter, content []byte) {
	rate := s.cfg.FileBytesPerSecond
	if rate <= 0 {
		_, _ = w.Write(content)
		return
	}
	chunk := max(rate/10, 1)
	flusher, _ := w.(http.Flusher)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for len(content) > 0 {
		n := min(chunk, len(content))
		if _, err := w.Write(content[:n]); err != nil {
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
		content = content[n:]
		select {
		case <-ctx.Done():
			return
		case <-s.ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// presign is the signature of a presigned URL: hex(HMAC-SHA256(key, id|expires)).
func (s *Simulator) presign(documentID string, expires int64) string {
	m := hmac.New(sha256.New, s.presignKey)
	fmt.Fprintf(m, "%s|%d", documentID, expires)
	return hex.EncodeToString(m.Sum(nil))
}

// writeS3Error answers 403 with an S3-style XML body, as a presigned store would.
func writeS3Error(w http.ResponseWriter, code, message string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusForbidden)
	fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message></Error>\n", code, message)
}
