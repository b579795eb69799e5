package limits

import (
	"sync"
	"time"
)

// Memory applies one Rule to many keys in memory, for limits that need not
// survive a restart (failed token requests per source address). It is safe
// for concurrent use and forgets keys once they are fully replenished.
type Memory struct {
	rule Rule

	mu    sync.Mutex
	tat   map[string]time.Time
	swept time.Time
}

// NewMemory returns a limiter for rule.
func NewMemory(rule Rule) *Memory {
	return &Memory{rule: rule, tat: map[string]time.Time{}}
}

// Refused reports whether key is over its allowance at now, without
// counting anything.
func (m *Memory) Refused(key string, now time.Time) (time.Duration, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, wait, ok := Allow(m.tat[key], now, m.rule)
	return wait, !ok
}

// Count records one event for key at now.
func (m *Memory) Count(key string, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if next, _, ok := Allow(m.tat[key], now, m.rule); ok {
		m.tat[key] = next
	}
	if now.Sub(m.swept) > m.rule.Window {
		for k, t := range m.tat {
			if t.Before(now) {
				delete(m.tat, k)
			}
		}

		m.swept = now
	}
}
