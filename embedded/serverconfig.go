package embedded

import (
	"fmt"

	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/membership/static"
	"go.temporal.io/server/common/metrics"
	"go.temporal.io/server/common/primitives"
	"go.temporal.io/server/temporal"
)

// clusterName is the name of the single local cluster.
const clusterName = "active"

// serverOptions assemble the server: the four services in this process, finding each other
// through static hosts (no membership ring, hence no membership ports), metrics only with
// Config.MetricsAddress, no pprof.
func serverOptions(cfg Config, p ports, persistence config.Persistence, frontendAddress string, logger log.Logger) ([]temporal.ServerOption, error) {
	hosts := map[primitives.ServiceName]static.Hosts{
		primitives.FrontendService: static.SingleLocalHost(frontendAddress),
		primitives.HistoryService:  static.SingleLocalHost(hostPort(internalIP, p.history)),
		primitives.MatchingService: static.SingleLocalHost(hostPort(internalIP, p.matching)),
		primitives.WorkerService:   static.SingleLocalHost(hostPort(internalIP, p.worker)),
	}
	sc, err := serverConfig(cfg, p, persistence, frontendAddress)
	if err != nil {
		return nil, err
	}
	return []temporal.ServerOption{
		temporal.WithConfig(sc),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorization.NewNoopAuthorizer()),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper {
			return authorization.NewNoopClaimMapper()
		}),
		temporal.WithDynamicConfigClient(dynamicConfig(cfg)),
	}, nil
}

func serverConfig(cfg Config, p ports, persistence config.Persistence, frontendAddress string) (*config.Config, error) {
	internal := func(port int) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: port, BindOnIP: internalIP}}
	}
	var c config.Config
	c.Persistence = persistence
	c.Services = map[string]config.Service{
		string(primitives.FrontendService): {RPC: config.RPC{
			GRPCPort: p.frontend,
			HTTPPort: p.frontendHTTP,
			BindOnIP: cfg.FrontendIP,
		}},
		string(primitives.HistoryService):  internal(p.history),
		string(primitives.MatchingService): internal(p.matching),
		string(primitives.WorkerService):   internal(p.worker),
	}
	c.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             frontendAddress,
				HTTPAddress:            hostPort(dialIP(cfg.FrontendIP), p.frontendHTTP),
			},
		},
	}
	c.DCRedirectionPolicy.Policy = "noop"
	c.Archival.History.State = "disabled"
	c.Archival.Visibility.State = "disabled"
	c.NamespaceDefaults.Archival.History.State = "disabled"
	c.NamespaceDefaults.Archival.Visibility.State = "disabled"
	// The worker service's system workflows reach the frontend through this client.
	c.PublicClient.HostPort = frontendAddress
	if cfg.MetricsAddress != "" {
		c.Global.Metrics = &metrics.Config{Prometheus: &metrics.PrometheusConfig{
			Framework: metrics.FrameworkOpentelemetry, ListenAddress: cfg.MetricsAddress, HandlerPath: "/metrics"}}
	}
	if cfg.TLS != nil {
		root, err := cfg.TLS.rootTLS()
		if err != nil {
			return nil, fmt.Errorf("frontend TLS: %w", err)
		}
		c.Global.TLS = root
	}
	return &c, nil
}

// dynamicConfig is DefaultDynamicConfig with cfg.DynamicConfig applied.
func dynamicConfig(cfg Config) dynamicconfig.StaticClient {
	dc := make(dynamicconfig.StaticClient, len(DefaultDynamicConfig)+len(cfg.DynamicConfig))
	for key, value := range DefaultDynamicConfig {
		dc[dynamicconfig.MakeKey(key)] = value
	}
	for key, value := range cfg.DynamicConfig {
		dc[dynamicconfig.MakeKey(key)] = value
	}
	return dc
}
