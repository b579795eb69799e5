package loadgen

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// CheckTarget parses rawURL and, unless allowRemote is set, refuses a host
// that is not a loopback IP address or "localhost". Names other than
// localhost are not resolved: a name is remote. It fails with ErrBadURL or
// ErrRemoteTarget.
func CheckTarget(rawURL string, allowRemote bool) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadURL, err)
	}

	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: %q", ErrBadURL, rawURL)
	}

	if allowRemote || isLoopback(u.Hostname()) {
		return u, nil
	}

	return nil, fmt.Errorf("%w: %q (pass --allow-remote to load it anyway)", ErrRemoteTarget, u.Host)
}

// isLoopback reports whether host is localhost or a loopback IP.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}

	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
