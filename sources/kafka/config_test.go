package kafka

import "testing"

// The fetch caps follow the budget unless configured, and the per-partition cap stays a small
// share of a fetch, so one response carries records of many partitions (see
// Config.FetchMaxPartitionBytes for why that matters).
func TestFetchSizes(t *testing.T) {
	const KiB, MiB = 1 << 10, 1 << 20
	cases := []struct {
		name              string
		fetch, part       int32
		budget            int64
		wantFetch, wantPt int32
	}{
		{"default budget", 0, 0, 48 * MiB, 1536 * KiB, 96 * KiB},
		{"small budget: floors", 0, 0, 4 * MiB, 1 * MiB, 64 * KiB},
		{"large budget: Kafka's caps", 0, 0, 4 << 30, 50 * MiB, 1 * MiB},
		{"configured fetch, derived partition", 8 * MiB, 0, 48 * MiB, 8 * MiB, 512 * KiB},
		{"both configured", 8 * MiB, 2 * MiB, 48 * MiB, 8 * MiB, 2 * MiB},
	}
	for _, c := range cases {
		cfg := DefaultConfig()
		cfg.FetchMaxBytes, cfg.FetchMaxPartitionBytes = c.fetch, c.part
		f, p := fetchSizes(cfg, c.budget)
		if f != c.wantFetch || p != c.wantPt {
			t.Errorf("%s: fetch %d, partition %d; want %d, %d", c.name, f, p, c.wantFetch, c.wantPt)
		}
	}
}
