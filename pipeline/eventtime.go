package pipeline

import "time"

// Event time: the rules. They are written here once; the runner (runner.go) and the merger
// (merger.go) implement exactly these, and README.md repeats them for users.
//
//  1. Time. A record's event time is its window.time_field or, without one, its broker append
//     (Kafka) or arrival (Kinesis) time. Windows are tumbling, aligned to the Unix epoch.
//
//  2. Watermark. A partition's watermark is the newest event time among its own records so
//     far, minus window.allowed_lateness. It moves record by record, never back, and nothing
//     else moves it except the wall-clock rule (5): no other partition, no batch boundary, no
//     shared worker state.
//
//  3. Late. A record is late when its window ends at or before the watermark as it stands
//     just before the record (its own partition's records before it, in order). A late record
//     is dead-lettered (reason "late") or, with window.late: oldest-open, folded into the
//     partition's oldest window the watermark has not closed (with none open, the window
//     holding the watermark). Either way it is counted: in weir_late_records_total, and in the
//     summary report of the partition's oldest open window, or of the next it opens (as every
//     dead letter is: see windowCounts). So producers whose clocks differ by less than the
//     allowed lateness, and records out of order by less than it, land in their own windows.
//
//  4. Idle. A partition is quiet when its source says it is caught up (its last batch said no
//     more records were waiting) and it has taken no on-time record for window.idle_timeout.
//     A quiet partition with no open window is idle: the merger leaves it out of the minimum
//     over the partitions' progress, so it holds back no window (Flink's idleness). It is never
//     given an invented event time. A partition starved by backpressure is behind, never quiet.
//
//  5. Wall clock. A quiet partition's watermark also advances with the wall clock, anchored at
//     its newest event time and the wall time that event was first seen:
//
//     watermark = max(watermark, min(newest + (now − seenAt), now) − allowed_lateness)
//
//     So when every partition is quiet, each open window still closes, once window end +
//     allowed lateness has passed on the wall clock measured from when the newest event was
//     seen. The anchor is fixed (never compounding) and the result is capped at now (never
//     ahead of the wall clock); a partition whose events run ahead of the clock waits for it.
//
//  6. Merge. A window is emitted once every partition that is not idle has closed it. A
//     partition that takes records again rejoins the minimum with its own watermark; a window
//     it has on-time records for but that was emitted while it was idle gets a further output
//     for those records (counted once, never lost).
//
//  7. Replay. Rules 2 and 3 depend only on the partition's records and their order, so the
//     same records read again from the same position fall in the same windows and the same
//     ones are late, however they are batched or timed, whatever the other partitions do. The
//     exception is rule 5: a record that arrives after the wall clock closed its window is late
//     live, and may be on time when a replay reads it in a backlog.
//
// Processing time (window.time: processing) has no lateness: a batch's records take the wall
// clock when it arrives, and windows close on the wall clock.

// Clock is the wall clock the runtime reads: time.Now in production, a settable clock in tests
// (quiet spells of a day run in no time). It is read once per batch and once per tick, never
// per record.
type Clock func() time.Time

// eventClock is one partition's event-time state (rules 2 and 5). The runner owns it.
type eventClock struct {
	lateness int64
	// newest is the newest event time of the partition's records (Unix ns), minTime before the
	// first; seenAt is the wall time the runner first saw it.
	newest, seenAt int64
	// watermark is max(newest − lateness, the wall-clock rule's value), never decreasing;
	// minTime before the first record.
	watermark int64
}

func newEventClock(lateness time.Duration) eventClock {
	return eventClock{lateness: int64(lateness), newest: minTime, seenAt: minTime, watermark: minTime}
}

// observe takes an on-time record's event time t, read at wall time now (rule 2).
func (c *eventClock) observe(t, now int64) {
	if t <= c.newest {
		return
	}
	c.newest, c.seenAt = t, now
	if wm := t - c.lateness; wm > c.watermark {
		c.watermark = wm
	}
}

// passWallTime applies rule 5 at wall time now, for a quiet partition. Before the first record
// there is no anchor, and nothing moves.
func (c *eventClock) passWallTime(now int64) {
	if c.newest == minTime {
		return
	}
	t := min(c.newest+max(now-c.seenAt, 0), now)
	if wm := t - c.lateness; wm > c.watermark {
		c.watermark = wm
	}
}

// follow sets the watermark to now, for processing time.
func (c *eventClock) follow(now int64) {
	if now > c.watermark {
		c.watermark = now
	}
}
