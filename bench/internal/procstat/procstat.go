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

// CPUTimes are the machine's cumulative CPU times in clock ticks, summed
// over every CPU, from the first line of /proc/stat.
type CPUTimes struct {
	// Total is every state together.
	Total uint64
	// Idle is idle plus iowait.
	Idle uint64
	// Steal is time the hypervisor gave to other guests.
	Steal uint64
}

// CPU reads the machine's CPU times. It fails when /proc/stat cannot be
// read or parsed.
func CPU() (CPUTimes, error) {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return CPUTimes{}, fmt.Errorf("procstat: %w", err)
	}

	line, _, _ := strings.Cut(string(raw), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return CPUTimes{}, fmt.Errorf("procstat: unexpected /proc/stat line %q", line)
	}

	var t CPUTimes
	for i, s := range f[1:] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return CPUTimes{}, fmt.Errorf("procstat: /proc/stat: %w", err)
		}

		// Guest times (fields 9 and 10) are already inside user and nice.
		if i < 8 {
			t.Total += v
		}

		switch i {
		case 3, 4:
			t.Idle += v
		case 7:
			t.Steal += v
		}
	}

	return t, nil
}

// BusyShare returns the share of CPU time between a and b, the later
// reading, that was neither idle nor stolen.
func BusyShare(a, b CPUTimes) float64 {
	if b.Total <= a.Total {
		return 0
	}
	idle := (b.Idle - a.Idle) + (b.Steal - a.Steal)
	return 1 - float64(idle)/float64(b.Total-a.Total)
}

// StealShare returns the share of CPU time stolen between a and b, the
// later reading.
func StealShare(a, b CPUTimes) float64 {
	if b.Total <= a.Total {
		return 0
	}

	return float64(b.Steal-a.Steal) / float64(b.Total-a.Total)
}

// Dirty returns the machine's memory waiting to be written to disk, in
// bytes: Dirty plus Writeback from /proc/meminfo. It fails when the file
// cannot be read or lacks the fields.
func Dirty() (int64, error) {
	raw, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, fmt.Errorf("procstat: %w", err)
	}
	var total int64
	found := 0
	for _, line := range strings.Split(string(raw), "\n") {
		key, value, ok := strings.Cut(line, ":")
		if !ok || (key != "Dirty" && key != "Writeback") {
			continue
		}
		f := strings.Fields(value)
		if len(f) == 0 {
			continue
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("procstat: %s: %w", key, err)
		}
		total += kb << 10
		found++
	}
	if found != 2 {
		return 0, fmt.Errorf("%w: Dirty and Writeback", ErrNoField)
	}
	return total, nil
}

// ProcessTicks returns the CPU time process pid has used, user and system
// together, in the clock ticks of /proc/stat. It fails when the process
// does not exist or its stat line cannot be parsed.
func ProcessTicks(pid int) (uint64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("procstat: %w", err)
	}
	// The command name may hold spaces and parentheses; fields follow the
	// last ')': state is the first, utime the 12th and stime the 13th.
	i := bytes.LastIndexByte(raw, ')')
	f := strings.Fields(string(raw[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0, fmt.Errorf("procstat: unexpected /proc/%d/stat", pid)
	}
	var ticks uint64
	for _, s := range f[11:13] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("procstat: /proc/%d/stat: %w", pid, err)
		}
		ticks += v
	}
	return ticks, nil
}

// TicksPerSecond is the clock tick rate of /proc/stat on Linux (USER_HZ).
const TicksPerSecond = 100
