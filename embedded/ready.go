package embedded

import (
	"context"
	"errors"
	"fmt"

	postgresplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// Ready reports whether the running server can serve now: on PostgreSQL both databases
// accept a connection, and the frontend reports itself serving. It is meant for a
// readiness probe, called again and again for as long as the server runs.
func (s *Server) Ready(ctx context.Context) error {
	if s.store != nil {
		for _, ds := range s.store.persistence.DataStores {
			if ds.SQL == nil || ds.SQL.PluginName != postgresplugin.PluginNamePGX {
				continue
			}
			exists, err := postgresDatabaseExists(ctx, ds.SQL)
			if err != nil {
				return fmt.Errorf("store: %w", err)
			}
			if !exists {
				return fmt.Errorf("store: PostgreSQL database %s does not exist", ds.SQL.DatabaseName)
			}
		}
	}
	conn, err := grpc.NewClient(s.frontendAddress, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("frontend: %w", err)
	}
	defer func() { _ = conn.Close() }()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: frontendHealthService})
	if err != nil {
		return fmt.Errorf("frontend: %w", err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return errors.New("frontend is " + resp.GetStatus().String())
	}
	return nil
}
