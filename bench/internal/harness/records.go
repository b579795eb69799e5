package harness

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// record is one challenge that mfactl bench otp created.
type record struct {
	authID, email string
	sent          time.Time
}

// readRecords reads the tab-separated file that mfactl bench otp --out
// writes. It fails on a malformed line.
func readRecords(path string) ([]record, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}

	defer file.Close()
	var out []record
	sc := bufio.NewScanner(file)
	for n := 1; sc.Scan(); n++ {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 3 {
			return nil, fmt.Errorf("%s:%d: want 3 fields", path, n)
		}

		ns, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}

		out = append(out, record{authID: f[0], email: f[1], sent: time.Unix(0, ns)})
	}

	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}

	return out, nil
}

// afterWarmup returns the records sent at least warmup after the first.
func afterWarmup(recs []record, warmup time.Duration) []record {
	if len(recs) == 0 {
		return nil
	}

	first := recs[0].sent
	for _, r := range recs {
		if r.sent.Before(first) {
			first = r.sent
		}
	}

	var out []record
	for _, r := range recs {
		if !r.sent.Before(first.Add(warmup)) {
			out = append(out, r)
		}
	}

	return out
}

// writeFile writes b to path, readable by this user only.
func writeFile(path string, b []byte) error {
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}

	return nil
}
