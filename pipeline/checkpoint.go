package pipeline

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Checkpoint is a partition's commit point: the position up to which every record is durable
// (in a partial or as a dead letter), and the event-time state a replay from there needs to
// make exactly the decisions the first run made (eventtime.go, rule 7). A source stores the
// two together, atomically (Kafka: the offset commit's metadata; Kinesis: the lease row), and
// hands them back to Runtime.Assign; commit.go says how they are computed.
type Checkpoint struct {
	Position Position
	State    CheckpointState
}

// CheckpointState is what a replay from a checkpoint needs besides the position.
type CheckpointState struct {
	// Period is the window period the state is on (a changed period makes it meaningless).
	Period time.Duration
	// ClosedThrough is the end (Unix ns, on the window grid) up to which every window of the
	// partition was closed when the record after the position was read: a record whose window
	// ends at or before it is late. Zero: none yet. The watermark itself is not needed, only
	// this: window ends are on the grid, so floor(max(a, b)) = max(floor(a), floor(b)), and a
	// replay that starts from ClosedThrough closes and refuses exactly what the first run did.
	ClosedThrough int64
	// Straddlers are the windows that were still open when the record after the position was
	// read and whose partials are durable now. Each holds records (or counts) at or before the
	// position, which a replay does not read again, so a replay must neither write them again
	// (it would overwrite them with their tail only) nor count their tail elsewhere: it keeps
	// each one open, as the first run had it, and swallows what it would count in it up to
	// Last. Out-of-order data within the lateness makes them near every window boundary; there
	// are at most MaxStraddlers (commit.go holds the commit point back rather than exceed it).
	Straddlers []Straddler
}

// Straddler is a durable window a replay must not write again (see CheckpointState).
type Straddler struct {
	Start int64    // the window's start, Unix ns
	Last  Position // the last record counted in it
}

// MaxStraddlers bounds a checkpoint's straddlers, and so its encoding: about 2.5 KiB with
// Kinesis sequence numbers, under Kafka's default offset.metadata.max.bytes (4096).
const MaxStraddlers = 32

// checkpointTag begins every encoded checkpoint; another tag (a future format, another
// consumer's metadata) is not parsed.
const checkpointTag = "weir1"

// String encodes the checkpoint as one line of text, the form sources store:
//
//	weir1 w=<period ns> p=<position> ct=<closed through> [s=<start>@<last>;<start>@<last>…]
//
// Positions are in their native form (Position.String): a Kafka offset, or a Kinesis
// "sequence:sub", so that a checkpoint stays meaningful to another worker's lease.
func (c Checkpoint) String() string {
	var b strings.Builder
	b.WriteString(checkpointTag)
	b.WriteString(" w=")
	b.WriteString(strconv.FormatInt(int64(c.State.Period), 10))
	b.WriteString(" p=")
	b.WriteString(c.Position.String())
	b.WriteString(" ct=")
	b.WriteString(strconv.FormatInt(c.State.ClosedThrough, 10))
	for i, s := range c.State.Straddlers {
		if i == 0 {
			b.WriteString(" s=")
		} else {
			b.WriteByte(';')
		}
		b.WriteString(strconv.FormatInt(s.Start, 10))
		b.WriteByte('@')
		b.WriteString(s.Last.String())
	}
	return b.String()
}

// ErrForeignCheckpoint is returned by ParseCheckpoint for text that is not a weir checkpoint
// at all (another consumer's commit metadata, an older weir's empty one).
var ErrForeignCheckpoint = errors.New("not a weir checkpoint")

// ParseCheckpoint is the inverse of Checkpoint.String. It trusts nothing: text with another
// tag wraps ErrForeignCheckpoint, and any malformed field is an error, so that damaged state
// is dropped (the partition starts without it) rather than misread. A Kinesis position comes
// back without its Offset (an ordinal of the lease that wrote it); the source sets one.
func ParseCheckpoint(s string) (Checkpoint, error) {
	var c Checkpoint
	fields := strings.Fields(s)
	if len(fields) == 0 || fields[0] != checkpointTag {
		return c, ErrForeignCheckpoint
	}
	seen := map[string]bool{}
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(f, "=")
		if !ok || seen[k] {
			return c, fmt.Errorf("checkpoint: field %q", f)
		}
		seen[k] = true
		var err error
		switch k {
		case "w":
			var n int64
			n, err = strconv.ParseInt(v, 10, 64)
			c.State.Period = time.Duration(n)
			if err == nil && n <= 0 {
				err = errors.New("not positive")
			}
		case "p":
			c.Position, err = parsePosition(v)
		case "ct":
			c.State.ClosedThrough, err = strconv.ParseInt(v, 10, 64)
		case "s":
			c.State.Straddlers, err = parseStraddlers(v)
		default:
			err = errors.New("unknown field")
		}
		if err != nil {
			return Checkpoint{}, fmt.Errorf("checkpoint: %s=%q: %w", k, v, err)
		}
	}
	if !seen["w"] || !seen["p"] || !seen["ct"] {
		return Checkpoint{}, fmt.Errorf("checkpoint %q: w, p and ct are required", s)
	}
	return c, nil
}

func parseStraddlers(v string) ([]Straddler, error) {
	parts := strings.Split(v, ";")
	if len(parts) > MaxStraddlers {
		return nil, fmt.Errorf("%d straddlers, at most %d", len(parts), MaxStraddlers)
	}
	out := make([]Straddler, 0, len(parts))
	for _, p := range parts {
		start, last, ok := strings.Cut(p, "@")
		if !ok {
			return nil, fmt.Errorf("straddler %q", p)
		}
		n, err := strconv.ParseInt(start, 10, 64)
		if err != nil {
			return nil, err
		}
		pos, err := parsePosition(last)
		if err != nil {
			return nil, err
		}
		out = append(out, Straddler{Start: n, Last: pos})
	}
	return out, nil
}

// parsePosition is the inverse of Position.String: an offset, or a Kinesis "sequence:sub"
// (sequence numbers are decimal).
func parsePosition(s string) (Position, error) {
	seq, sub, kinesis := strings.Cut(s, ":")
	if !kinesis {
		n, err := strconv.ParseInt(s, 10, 64)
		return Position{Offset: n}, err
	}
	if seq == "" || strings.TrimLeft(seq, "0123456789") != "" {
		return Position{}, fmt.Errorf("sequence number %q", seq)
	}
	n, err := strconv.ParseInt(sub, 10, 32)
	if err != nil {
		return Position{}, err
	}
	return Position{Seq: seq, Sub: int32(n)}, nil
}
