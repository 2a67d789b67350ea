package anomaly

// rate returns max(r, 1/n): a running average while young, an EWMA once old enough. It lets
// every statistic be useful after a handful of points without a separate initialisation.
func rate(r float64, n int64) float64 {
	if inv := 1 / float64(n); inv > r {
		return inv
	}
	return r
}

// indicator is 1 for true and 0 for false: an event's contribution to its rate.
func indicator(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
