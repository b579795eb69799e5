package loadgen

import (
	"net"
	"net/http"
	"time"
)

// NewHTTPClient returns a client for concurrency workers: one idle
// keep-alive connection per worker, no compression, and timeout on each
// whole request.
func NewHTTPClient(concurrency int, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		MaxIdleConns:          concurrency,
		MaxIdleConnsPerHost:   concurrency,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ResponseHeaderTimeout: timeout,
		ForceAttemptHTTP2:     false,
	}

	return &http.Client{Transport: tr, Timeout: timeout}
}
