package pipeline

import "time"

// Event time: the rules. They are written here once; the runner (runner.go) and the fleet's
// aggregator (package aggregator) implement exactly these, and README.md repeats them for users.
//
//  1. Time. A record's event time is its window.time_field or, without one, its broker append
//     (Kafka) or arrival (Kinesis) time. A time_field further ahead of the broker time than
//     window.max_ahead comes from a clock that runs ahead: the record's event time is then its
//     broker time + max_ahead, the latest it can have happened (ahead.go). Windows are
//     tumbling, aligned to the Unix epoch.
//
//  2. Watermark. A partition's watermark is the newest event time among its own records so
//     far, minus window.allowed_lateness. It moves record by record, never back, and nothing
//     else moves it except the wall-clock rule (5): no other partition, no batch boundary, no
//     shared worker state. A window whose end the watermark has passed is closed; the
//     partition writes its partial, and the window end it has closed through (the watermark
//     floored to the window grid) is the partition's closedThrough.
//
//  3. Late. A record is late when its window ends at or before the watermark as it stands
//     just before the record (its own partition's records before it, in order). A late record
//     is dead-lettered (reason "late") or, with window.late: oldest-open, folded into the
//     partition's oldest window the watermark has not closed (with none open, the window
//     holding the watermark). Either way it is counted: in weir_late_records_total, and in the
//     partial (and so the summary report) of the partition's oldest open window, or of the
//     window holding the watermark (as every dead letter is: see windowCounts). So producers
//     whose clocks differ by less than the allowed lateness, and records out of order by less
//     than it, land in their own windows.
//
//  4. Idle. A partition is quiet when its source says it is caught up (its last batch said no
//     more records were waiting) and it has taken no on-time record for window.idle_timeout
//     while the worker was running: after a stall, when the runner did not read the clock for
//     longer than the allowed lateness and two ticks (a frozen or starved process: SIGSTOP, a
//     suspended host, a throttled container), the idle timeout counts again from the stall's
//     end, because the last "caught up" was said before the records that reached the broker
//     meanwhile. A fetch that hangs while the worker runs (a broker that does not answer, a
//     network partition to the leader, GetRecords throttled or timing out) is no stall; for
//     it, "caught up" is a claim with a time (caughtup.go): a source that can confirm it says
//     as of when (Batch.CaughtUpAt: Kafka from end offsets no further than what it has read,
//     every second; Kinesis on every empty GetRecords at MillisBehindLatest 0), again while
//     the partition stays caught up, and rule 5 takes a quiet partition no further than its
//     last confirmation. A source whose fetches stop answering stops confirming: the
//     partition's windows wait, as a lagging partition's do, what reached the broker meanwhile
//     is on time when read, and weir_partitions_unconfirmed counts it once it has gone the
//     idle timeout (and two of the source's intervals) quiet and unconfirmed. A source that
//     never confirms keeps its claim until its next batch. A quiet partition is never given an invented event time; rule 5 moves
//     its watermark instead. A partition starved by backpressure is behind, never quiet.
//
//  5. Wall clock. A quiet partition's watermark also advances with the wall clock, anchored at
//     its newest event time and the wall time that event was first seen:
//
//     watermark = max(watermark, min(newest + (now − seenAt), limit) − allowed_lateness)
//
//     where limit is now, or for a source that confirms (rule 4) its last confirmation (a
//     partition that has read no on-time record since it started uses limit − allowed
//     lateness). So when every partition is quiet, each open window still closes, once window
//     end + allowed lateness has passed on the wall clock measured from when the newest event
//     was seen (and the source has confirmed the partition caught up since). The anchor is
//     fixed (never compounding) and the result is capped at limit (never ahead of the wall
//     clock, nor of what the source has confirmed); a partition whose events run ahead of the
//     clock waits for it.
//     A stall shorter than the allowed lateness needs no rule: the watermark stays below
//     now − allowed lateness, so what reached the broker during it is on time when read.
//
//  6. Merge. Every partition writes a partial for every window it closes, in window order, and
//     one for the last window its watermark passed when no partial reached that far (an empty
//     one): so a partition that delivered a window, or a later one, has passed it. The fleet's
//     aggregator merges a window once every partition has passed it (quiet ones too, by rule
//     5), or at its grace deadline without the ones that have not (naming them).
//
//  7. Replay. Rules 2 and 3 depend only on the partition's records and their order, so the
//     same records read again from the same position fall in the same windows and the same
//     ones are late, however they are batched or timed, whatever the other partitions do. A
//     partition resumed from its checkpoint starts with the closedThrough and the straddlers
//     the checkpoint carries (checkpoint.go, replay.go), so it writes byte-identical partials
//     under the same keys. The exception is rule 5: a record that arrives after the wall clock
//     closed its window is late live, and may be on time when a replay reads it in a backlog
//     (the checkpoint carries the closedThrough the wall clock moved when nothing was held,
//     which narrows this to a crash between the two).
//
// Processing time (window.time: processing) has no lateness: a batch's records take the wall
// clock when it arrives, and windows close on the wall clock. Rule 7 does not hold for it: a
// record read again after a crash (past the last stored checkpoint, in a partial already
// durable) falls in the window of its second reading, under another key.

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

// passWallTime applies rule 5 at wall time now, for a quiet partition, going no further than
// limit: now, or the time the source last confirmed the partition caught up (caughtup.go). A
// partition that has read no on-time record (a new one, or one restored from a checkpoint) has
// no anchor, and follows the wall clock itself: its open windows close, and it writes empty
// partials, as a partition that has passed them.
func (c *eventClock) passWallTime(now, limit int64) {
	t := limit
	if c.newest != minTime {
		t = min(c.newest+max(now-c.seenAt, 0), limit)
	}
	if wm := t - c.lateness; wm > c.watermark {
		c.watermark = wm
	}
}

// restore starts the watermark at closedThrough, the commit point's (replay.go); the anchor of
// rule 5 is found again from the records read next.
func (c *eventClock) restore(closedThrough int64) {
	c.watermark = max(c.watermark, closedThrough)
}

// follow sets the watermark to now, for processing time.
func (c *eventClock) follow(now int64) {
	if now > c.watermark {
		c.watermark = now
	}
}
