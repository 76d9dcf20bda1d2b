package load

import (
	"math"
	"slices"
	"time"
)

// Dist summarises latencies in milliseconds. N is the number of samples;
// the other fields are 0 when there are none.
type Dist struct {
	N   int     `json:"n"`
	Min float64 `json:"min_ms"`
	P50 float64 `json:"p50_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

// percentile is the nearest-rank percentile of sorted durations: the
// smallest sample that at least p of all samples are at or below (p in
// [0, 1]; 0 gives the minimum, 1 the maximum, none gives 0).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// distOf sorts d in place and summarises it.
func distOf(d []time.Duration) Dist {
	slices.Sort(d)
	return Dist{N: len(d), Min: ms(percentile(d, 0)), P50: ms(percentile(d, 0.50)), P99: ms(percentile(d, 0.99)), Max: ms(percentile(d, 1))}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
