package activities

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// entries lists the directory, failing the test on error.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	list, err := os.ReadDir(dir)
	require.NoError(t, err)
	names := make([]string, 0, len(list))
	for _, e := range list {
		names = append(names, e.Name())
	}
	return names
}

func TestFSDocumentStoreIsContentAddressed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "docs")
	store := FSDocumentStore{Dir: dir}
	content := []byte("%PDF-1.7 signed QES document")

	doc, err := store.Put(context.Background(), bytes.NewReader(content))
	require.NoError(t, err)
	require.Equal(t, sha(content), doc.SHA256)
	require.EqualValues(t, len(content), doc.Size)
	require.Equal(t, filepath.Join(dir, sha(content)), doc.Location)

	got, err := os.ReadFile(doc.Location)
	require.NoError(t, err)
	require.Equal(t, content, got)
	info, err := os.Stat(doc.Location)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "documents hold PII: owner only")

	again, err := store.Put(context.Background(), bytes.NewReader(content))
	require.NoError(t, err)
	require.Equal(t, doc, again)

	other, err := store.Put(context.Background(), bytes.NewReader([]byte("another document")))
	require.NoError(t, err)
	require.NotEqual(t, doc.Location, other.Location)
	require.ElementsMatch(t, []string{sha(content), sha([]byte("another document"))}, entries(t, dir),
		"no temporary file may be left behind")
}

func TestFSDocumentStoreNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	content := []byte("the real content")
	existing := filepath.Join(dir, sha(content))
	require.NoError(t, os.WriteFile(existing, []byte("already here"), 0o600))

	doc, err := FSDocumentStore{Dir: dir}.Put(context.Background(), bytes.NewReader(content))
	require.NoError(t, err)
	require.Equal(t, existing, doc.Location)
	got, err := os.ReadFile(existing)
	require.NoError(t, err)
	require.Equal(t, "already here", string(got), "an existing file is never replaced")
	require.Equal(t, []string{sha(content)}, entries(t, dir))
}

func TestFSDocumentStoreConcurrentSameContent(t *testing.T) {
	dir := t.TempDir()
	store := FSDocumentStore{Dir: dir}
	content := bytes.Repeat([]byte("qes"), 100_000)

	const writers = 16
	var wg sync.WaitGroup
	docs := make([]StoredDocument, writers)
	errs := make([]error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			docs[i], errs[i] = store.Put(context.Background(), bytes.NewReader(content))
		}()
	}
	wg.Wait()
	for i := range writers {
		require.NoError(t, errs[i])
		require.Equal(t, docs[0], docs[i])
	}
	require.Equal(t, []string{sha(content)}, entries(t, dir))
	got, err := os.ReadFile(docs[0].Location)
	require.NoError(t, err)
	require.Equal(t, content, got)
}

func TestFSDocumentStoreCancelledWriteLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := FSDocumentStore{Dir: dir}.Put(ctx, bytes.NewReader([]byte("partial")))
	require.ErrorIs(t, err, context.Canceled)
	require.Empty(t, entries(t, dir))
}

func TestFSDocumentStoreNeedsADirectory(t *testing.T) {
	_, err := FSDocumentStore{}.Put(context.Background(), bytes.NewReader(nil))
	require.ErrorContains(t, err, "no directory")
}
