package outbound

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// MetricDeliveries counts outbound event delivery requests by endpoint name and outcome.
const MetricDeliveries = "qesflow_event_deliveries_total"

// DeliveryCounter registers the deliveries counter in reg (nil: not registered) and returns
// the function to give Config.Observe.
func DeliveryCounter(reg prometheus.Registerer) (func(endpoint, outcome string), error) {
	deliveries := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricDeliveries,
		Help: "Outbound event delivery requests by endpoint and outcome (delivered, failed, gone).",
	}, []string{"endpoint", "outcome"})
	if reg != nil {
		if err := reg.Register(deliveries); err != nil {
			return nil, fmt.Errorf("register %s: %w", MetricDeliveries, err)
		}
	}
	return func(ep, outcome string) { deliveries.WithLabelValues(ep, outcome).Inc() }, nil
}
