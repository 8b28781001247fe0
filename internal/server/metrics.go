package server

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/kagikms/kagi/internal/api"
	"github.com/kagikms/kagi/internal/metrics"
)

// requestObserver hands api's account of each request to the metrics.
type requestObserver struct{ m *metrics.Metrics }

func (o requestObserver) ObserveRequest(ri api.RequestInfo) {
	o.m.ObserveRequest(metrics.Request{
		Service:   ri.Service,
		Operation: ri.Operation,
		ErrorCode: ri.ErrorCode,
		Status:    ri.Status,
		KeyState:  ri.KeyState,
		Duration:  ri.Duration,
	})
}

// metricsServer serves GET /metrics and nothing else, on its own address:
// the API port never serves metrics.
func metricsServer(m *metrics.Metrics, log *slog.Logger) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	return &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      60 * time.Second, // a key count of many keys
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
}
