package embedded

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"go.temporal.io/server/common/persistence"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	"go.temporal.io/server/schema"
)

// Versioned schema updates the server module ships, one directory per version (what the
// official temporal-sql-tool update-schema applies).
const (
	postgresMainVersioned       = "postgresql/v12/temporal/versioned"
	postgresVisibilityVersioned = "postgresql/v12/visibility/versioned"
)

// schemaUpdate is one versioned directory: its manifest and statements.
type schemaUpdate struct {
	version, minCompatible, description string
	statements                          []string
}

// upgradePostgresSchema applies the versioned updates between the database's schema version
// and target in order, recording each version as it goes, so that an interrupted upgrade
// resumes where it stopped. A store at a newer version than target is refused: it belongs
// to a newer server.
func upgradePostgresSchema(ctx context.Context, admin sqlplugin.AdminDB, database, versionedDir, target string) (applied []string, err error) {
	current, err := admin.ReadSchemaVersion(database)
	if err != nil {
		return nil, fmt.Errorf("read schema version of %s: %w", database, err)
	}
	switch c := compareSchemaVersions(current, target); {
	case c > 0:
		return nil, fmt.Errorf("PostgreSQL database %s has schema version %s, newer than %s of this qesflow's Temporal server: run a qesflow at least as new as the one that upgraded it", database, current, target)
	case c == 0:
		return nil, nil
	}
	updates, err := schemaUpdates(versionedDir, current, target)
	if err != nil {
		return nil, err
	}
	for _, u := range updates {
		for _, stmt := range u.statements {
			if err := ctx.Err(); err != nil {
				return applied, fmt.Errorf("upgrade schema of %s to %s: %w", database, u.version, err)
			}
			if err := admin.Exec(stmt); err != nil {
				// A statement of an update interrupted before its version was recorded.
				if msg := err.Error(); strings.Contains(msg, "already exist") || strings.Contains(msg, "not found") {
					continue
				}
				return applied, fmt.Errorf("upgrade schema of %s to %s: %w", database, u.version, err)
			}
		}
		if err := admin.UpdateSchemaVersion(database, u.version, u.minCompatible); err != nil {
			return applied, fmt.Errorf("record schema version %s of %s: %w", u.version, database, err)
		}
		if err := admin.WriteSchemaUpdateLog(current, u.version, "", u.description+" (qesflow embedded)"); err != nil {
			return applied, fmt.Errorf("record schema update %s of %s: %w", u.version, database, err)
		}
		current = u.version
		applied = append(applied, u.version)
	}
	if compareSchemaVersions(current, target) != 0 {
		return applied, fmt.Errorf("PostgreSQL database %s reached schema version %s, want %s: the server module ships no update to it", database, current, target)
	}
	return applied, nil
}

// schemaUpdates reads the versioned directories after from, up to and including to.
func schemaUpdates(dir, from, to string) ([]schemaUpdate, error) {
	entries, err := fs.ReadDir(schema.Assets(), dir)
	if err != nil {
		return nil, fmt.Errorf("read embedded schema updates %s: %w", dir, err)
	}
	var updates []schemaUpdate
	for _, e := range entries {
		version, ok := strings.CutPrefix(e.Name(), "v")
		if !e.IsDir() || !ok || compareSchemaVersions(version, from) <= 0 || compareSchemaVersions(version, to) > 0 {
			continue
		}
		u, err := readSchemaUpdate(path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		if u.version != version {
			return nil, fmt.Errorf("embedded schema update %s names version %s", e.Name(), u.version)
		}
		updates = append(updates, u)
	}
	slices.SortFunc(updates, func(a, b schemaUpdate) int { return compareSchemaVersions(a.version, b.version) })
	return updates, nil
}

func readSchemaUpdate(dir string) (schemaUpdate, error) {
	raw, err := fs.ReadFile(schema.Assets(), path.Join(dir, "manifest.json"))
	if err != nil {
		return schemaUpdate{}, fmt.Errorf("read embedded schema manifest: %w", err)
	}
	var m struct {
		CurrVersion, MinCompatibleVersion, Description string
		SchemaUpdateCqlFiles                           []string
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return schemaUpdate{}, fmt.Errorf("parse embedded schema manifest %s: %w", dir, err)
	}
	var readers []io.Reader
	for _, file := range m.SchemaUpdateCqlFiles {
		b, err := fs.ReadFile(schema.Assets(), path.Join(dir, file))
		if err != nil {
			return schemaUpdate{}, fmt.Errorf("read embedded schema update: %w", err)
		}
		readers = append(readers, bytes.NewReader(b))
	}
	var statements []string
	if len(readers) > 0 {
		statements, err = persistence.LoadAndSplitQueryFromReaders(readers)
		if err != nil {
			return schemaUpdate{}, fmt.Errorf("parse embedded schema update %s: %w", dir, err)
		}
	}
	return schemaUpdate{version: m.CurrVersion, minCompatible: m.MinCompatibleVersion, description: m.Description, statements: statements}, nil
}

// compareSchemaVersions compares dotted versions such as "1.9" and "1.10" numerically.
func compareSchemaVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x - y
		}
	}
	return 0
}
