package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// StoredDocument describes a document kept by a DocumentStore.
type StoredDocument struct {
	// SHA256 is the hex SHA-256 of the content.
	SHA256 string
	// Size is the content length in bytes.
	Size int64
	// Location names where the store keeps it (for FSDocumentStore, the file path).
	Location string
}

// DocumentStore keeps downloaded documents.
type DocumentStore interface {
	// Put stores the content of r and describes where it is. Storing the same content
	// twice is not an error and returns the same description.
	Put(ctx context.Context, r io.Reader) (StoredDocument, error)
}

// FSDocumentStore keeps documents in a directory, content-addressed: the file name is the
// hex SHA-256 of the content. A document is written to a temporary file in the same
// directory, synced, then linked into place, so a reader never sees a partial file and an
// existing file is never overwritten. Files are readable by the owner only.
type FSDocumentStore struct {
	Dir string
}

var _ DocumentStore = FSDocumentStore{}

// Put implements DocumentStore.
func (s FSDocumentStore) Put(ctx context.Context, r io.Reader) (StoredDocument, error) {
	if s.Dir == "" {
		return StoredDocument{}, errors.New("document store: no directory configured")
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return StoredDocument{}, fmt.Errorf("document store: create directory: %w", err)
	}
	tmp, err := os.CreateTemp(s.Dir, ".incoming-*")
	if err != nil {
		return StoredDocument{}, fmt.Errorf("document store: create temporary file: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // after a successful link the name is gone or a second name of the same file

	h := sha256.New()
	size, err := copyContent(ctx, tmp, h, r)
	if err == nil {
		err = tmp.Sync()
	}
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return StoredDocument{}, fmt.Errorf("document store: write: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	final := filepath.Join(s.Dir, sum)
	doc := StoredDocument{SHA256: sum, Size: size, Location: final}

	// os.Link fails if final exists: the same content is already stored, keep that file.
	if err := os.Link(tmpName, final); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return doc, nil
		}
		return StoredDocument{}, fmt.Errorf("document store: put %s in place: %w", sum, err)
	}
	if err := syncDir(s.Dir); err != nil {
		return StoredDocument{}, fmt.Errorf("document store: sync directory: %w", err)
	}
	return doc, nil
}

// copyContent copies r into w and h, stopping when ctx is done.
func copyContent(ctx context.Context, w io.Writer, h hash.Hash, r io.Reader) (int64, error) {
	return io.Copy(io.MultiWriter(w, h), ctxReader{ctx: ctx, r: r})
}

// ctxReader fails reads once its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// syncDir makes a new directory entry durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if closeErr := d.Close(); err == nil {
		err = closeErr
	}
	return err
}
