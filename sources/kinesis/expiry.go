package kinesis

import "time"

// observed is a lease row's owner and counter as this worker's scans saw it, and since when.
// A lease is expired when its counter has not moved for LeaseDuration: only the scanning
// worker's own clock is read, so workers' clocks need not agree.
type observed struct {
	owner   string
	counter int64
	since   time.Time // the end of the first scan that saw this owner and counter
}

// see records the row as a scan that ended at end read it.
func (o *observed) see(owner string, counter int64, end time.Time) {
	if o.since.IsZero() || o.owner != owner || o.counter != counter {
		*o = observed{owner: owner, counter: counter, since: end}
	}
}

// expired says whether the counter is known not to have moved for longer than d, by a scan
// that began at began and found it unchanged. A scan reads a row at some instant between its
// start and its end, so the counter is known to have stood still only from the end of the
// first scan that saw it to the start of the latest: measuring to the latest scan's end
// instead would let a slow scan (up to LeaseDuration) judge a lease renewed a moment before
// it was read as expired, and take it from a live owner if its renewal had not landed yet.
func (o observed) expired(began time.Time, d time.Duration) bool {
	return o.owner != "" && began.Sub(o.since) > d
}
