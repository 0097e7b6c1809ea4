package scaleout

import (
	"crypto/rand"
	"net/url"
	"strings"
	"testing"

	"github.com/qesflow/qesflow/internal/pgtest"
)

// visibilitySuffix is what qesflow server appends to the database name for visibility
// (embedded.VisibilityDatabaseSuffix).
const visibilitySuffix = "_visibility"

// database is a fresh database name on a server; qesflow server creates it (and its
// visibility twin) on first start.
type database struct {
	server *url.URL
	name   string
}

// freshDatabase names a database nobody used and drops it and its visibility database when
// the test ends (register it before the processes that use it, so it is dropped after them).
func freshDatabase(t *testing.T, server *url.URL) database {
	t.Helper()
	d := database{server: server, name: "qesflow_scaleout_" + strings.ToLower(rand.Text())}
	pgtest.DropAtEnd(t, server, d.name, d.name+visibilitySuffix)
	return d
}

// dsn is the QESFLOW_POSTGRES_DSN of the database.
func (d database) dsn() string { return pgtest.DSN(d.server, d.name) }
