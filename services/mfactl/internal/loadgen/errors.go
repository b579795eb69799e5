package loadgen

import "errors"

// Errors returned by the package.
var (
	// ErrRemoteTarget is returned for a URL whose host is not a loopback
	// address while remote targets are not allowed.
	ErrRemoteTarget = errors.New("loadgen: target is not a loopback address")
	// ErrBadURL is returned for a URL that is not absolute http(s).
	ErrBadURL = errors.New("loadgen: URL must be absolute http or https")
	// ErrBounds is returned for options outside the caps: no duration, a
	// duration over MaxDuration, a count over MaxRequests, or no workers.
	ErrBounds = errors.New("loadgen: run is not bounded")
	// ErrNoWork is returned when a scenario has nothing to send, such as
	// an empty codes file.
	ErrNoWork = errors.New("loadgen: nothing to send")
	// ErrToken is returned when the token endpoint does not issue a token.
	ErrToken = errors.New("loadgen: no access token")
	// ErrNoAuthID is returned when a created answer holds no authId.
	ErrNoAuthID = errors.New("loadgen: no authId in the answer")
)
