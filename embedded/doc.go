// Package embedded runs a Temporal server, and optionally the Temporal Web UI, inside the
// current process: the default of `qesflow dev`, and the server of tests that need a real
// cluster which survives a restart.
//
// Persistence is one of
//   - a SQLite file (Config.DataDir): durable across restarts and process crashes,
//   - an in-memory SQLite database (Config.Ephemeral): gone when the process exits,
//   - a PostgreSQL server (Config.PostgresDSN): persistence and visibility in two databases.
//
// Start returns once the frontend serves, the namespace exists and qesflow's search attributes
// (workflows.SearchAttributeTypes) are registered and usable in visibility queries.
//
//	srv, err := embedded.Start(ctx, embedded.Config{DataDir: "/var/lib/qesflow"})
//	if err != nil { ... }
//	defer srv.Stop()
//	c, err := client.Dial(client.Options{HostPort: srv.FrontendAddress(), Namespace: srv.Namespace()})
package embedded
