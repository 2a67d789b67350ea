package lag

import "time"

// History is one partition's recent samples, oldest first, spaced at least Config.Interval/2
// apart except the newest, and reaching back just past Config.Window (one anchor sample at or
// before the window start, so a rate or a status always spans the whole window once it can).
// It is a plain slice so the model's functions can be tested on scripted histories.
type History []Sample

// push adds s and drops what the window no longer needs, without growing past capacity.
// Samples out of time order are ignored: a source's clock only moves forward.
func (h History) push(s Sample, cfg Config) History {
	n := len(h)
	if n > 0 && s.Time.Before(h[n-1].Time) {
		return h
	}
	// The newest entry is provisional while it is closer than Interval/2 to the one before it:
	// replacing it keeps the spacing (and so the capacity bound) when a source reports often.
	// Half, not the whole Interval, so that a ticker's jitter (9.99s after 10.01s) does not
	// overwrite every other sample of a source that reports once per Interval.
	if n >= 2 && h[n-1].Time.Sub(h[n-2].Time) < cfg.Interval/2 {
		h[n-1] = s
	} else {
		h = append(h, s)
	}
	// Keep one sample at or before the window start (the anchor) and everything after it.
	start := s.Time.Add(-cfg.Window)
	drop := 0
	for drop+1 < len(h) && !h[drop+1].Time.After(start) {
		drop++
	}
	if over := len(h) - cfg.capacity(); over > drop {
		drop = over
	}
	if drop > 0 {
		h = append(h[:0], h[drop:]...)
	}
	return h
}

// full reports whether h spans the whole window ending at its newest sample.
func (h History) full(window time.Duration) bool {
	return len(h) >= 2 && !h[0].Time.After(h[len(h)-1].Time.Add(-window))
}

// newest returns the latest sample; h must not be empty.
func (h History) newest() Sample { return h[len(h)-1] }
