// Package metrics defines mfa-api's Prometheus metrics, once, and serves
// them. No label ever carries a code, a secret, a user or a destination.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the collectors. The zero value is not usable; use New. A
// nil *Metrics records nothing, so tests may leave it out.
type Metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	validations *prometheus.CounterVec
	limited     *prometheus.CounterVec
	pumping     *prometheus.CounterVec
}

// New registers the collectors on a fresh registry.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mfa_otp_requests_total", Help: "OTP challenges requested, by device type and result.",
		}, []string{"device_type", "result"}),
		validations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mfa_otp_validations_total", Help: "Code validations, by device type and result.",
		}, []string{"device_type", "result"}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mfa_rate_limited_total", Help: "Requests refused by a rate limit or failure budget.",
		}, []string{"limit"}),
		pumping: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mfa_sms_pumping_blocked_total", Help: "SMS requests refused by the pumping guard, by region.",
		}, []string{"region"}),
	}

	m.reg.MustRegister(m.requests, m.validations, m.limited, m.pumping,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Request counts a challenge request.
func (m *Metrics) Request(deviceType, result string) {
	if m != nil {
		m.requests.WithLabelValues(deviceType, result).Inc()
	}
}

// Validation counts a validation.
func (m *Metrics) Validation(deviceType, result string) {
	if m != nil {
		m.validations.WithLabelValues(deviceType, result).Inc()
	}
}

// Limited counts a refusal by the named limit.
func (m *Metrics) Limited(limit string) {
	if m != nil {
		m.limited.WithLabelValues(limit).Inc()
	}
}

// Pumping counts an SMS request refused by the pumping guard.
func (m *Metrics) Pumping(region string) {
	if m != nil {
		m.pumping.WithLabelValues(region).Inc()
	}
}
