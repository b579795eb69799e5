// Package procstat reads a process's memory from /proc on Linux: the
// anonymous resident set (heap, stacks and other private memory, without
// file-backed pages such as a memory-mapped database file).
package procstat

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ErrNoField is returned when /proc/PID/status lacks the field asked for,
// as on kernels without RssAnon.
var ErrNoField = errors.New("procstat: field not in /proc status")

// RSSAnon returns the RssAnon of process pid in bytes. It fails with
// ErrNoField, or when the process does not exist.
func RSSAnon(pid int) (int64, error) {
	return statusField(pid, "RssAnon")
}

// RSSFile returns the RssFile of process pid in bytes: resident pages
// backed by files, such as an mmapped bbolt file. It fails like RSSAnon.
func RSSFile(pid int) (int64, error) {
	return statusField(pid, "RssFile")
}

// statusField reads a "Name:   123 kB" line of /proc/PID/status.
func statusField(pid int, name string) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("procstat: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || key != name {
			continue
		}
		f := strings.Fields(value)
		if len(f) == 0 {
			break
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("procstat: %s: %w", name, err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("%w: %s", ErrNoField, name)
}
