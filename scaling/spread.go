package scaling

// spread is how the fleet's demand lies over its partitions: partitions of them (0 when not
// known, or when the policy does not align to partitions), the busiest holding hottest of the
// demand (0: evenly spread). A partition is never split between tasks, and partitions are
// shared out by count (Kafka's assignors, the Kinesis lease balancer), not by load: with P
// partitions on N tasks some task owns k = ⌈P/N⌉ of them, and the fleet keeps up only while
// the task that owns the busiest one, with k − 1 others, keeps up. Which others is up to the
// assignor; an average share of the rest is the expectation, and what the tolerance band and
// target utilisation leave room for.
type spread struct {
	partitions int
	hottest    float64
}

// share is the part of the demand the busiest of n tasks holds.
func (s spread) share(n int) float64 {
	p := s.partitions
	if p <= 1 {
		return 1
	}
	h := min(max(s.hottest, 1/float64(p)), 1)
	k := min((p+n-1)/n, p)
	return h + float64(k-1)*(1-h)/float64(p-1)
}

// effective is how many tasks' worth of rate n tasks deliver: n without partitions, else
// 1 ÷ share(n) (P ÷ ⌈P/n⌉ with even partitions).
func (s spread) effective(n int) float64 {
	if s.partitions <= 0 {
		return float64(n)
	}
	return 1 / s.share(n)
}

// aligned is the least task count whose effective rate covers required tasks. With partitions
// known, only counts of the form ⌈P/k⌉ are worth trying (each is the least with at most k
// partitions per task); when even one partition per task is not enough (a partition hotter
// than a task can process), the answer is the unrounded requirement, which the partition bound
// then clamps.
func (s spread) aligned(required float64) int {
	n := ceilTasks(required)
	p := s.partitions
	if p <= 0 || required <= 0 {
		return n
	}
	if n > p {
		return n
	}
	// share grows with k, so the largest k that still covers the requirement gives the least N.
	for k := (p + n - 1) / n; k >= 1; k-- {
		m := (p + k - 1) / k
		if 1/s.share(m) >= required*(1-1e-9) {
			return m
		}
	}
	return max(n, p+1) // nothing up to P covers it: let the bound say so
}
