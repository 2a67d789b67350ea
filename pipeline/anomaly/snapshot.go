package anomaly

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/vmihailenco/msgpack/v5"
)

// Snapshots let a detector survive restarts and partition moves: the owner of a series writes
// MarshalMsgpack's bytes next to its other partial state and a new owner restores them with
// UnmarshalMsgpack. Restoring is exact: the restored detector returns bit-identical results.
//
// The format is a msgpack array: a version number, then every state field in a fixed order
// (the order of Detector.fields). It is written field by field rather than by reflection over
// struct tags so that the state types can stay unexported, and so that a decoder can check
// every value (type, length, finiteness) and refuse garbage with an error instead of building
// a detector that would produce NaN.

// snapshotVersion changes whenever fields() changes. Snapshots of versions 5 to 15 are still
// read (snapshot_v5.go; version 6 had no records and version 7 no value tail, which then start
// as for a new series; version 8 had no tops of the tail curves, which are then taken from the
// curves' levels: tailCurve.levelTop; version 9 had no repeats, which then start as for a new
// series: the first point after the restore has no previous value to repeat; version 10 had no
// stuck-value channel, which then starts as for a new series, its runs counted from the restore;
// version 11 had no time zone, and every detector then read its clock in UTC; version 12 had no
// usual interval, which then starts as for a new series: the first point after the restore has no
// previous time, and the interval is a running mean of the spacings after it; version 13 had no
// young series' trend, which a detector restored during its first week then starts from the plain
// level with no slope: youngFrom; round 73 kept the trend for a week instead of a day, with the
// same three numbers, so the version did not change; version 14 had no lasting change's excursion,
// and a detector restored from it has none open: the next point outside the band opens one;
// version 15 had no record of whether the current run of zeros had been reported at even odds,
// which restores as not: the pattern channel may speak for the run's zeros until the run is
// reported at even odds again: zeros.told; version 16 had no owed report of a stall, which
// restores as none and not paged: a stall under way at the restore is judged as not yet reported
// and pages at most once more; stuck.owed, stuck.paged).
const snapshotVersion = versionOwed

// versionOwed is the version that added a stall's owed report (round 115).
const versionOwed = 17

// fields lists pointers to every piece of state of a snapshot of the given version, in its
// order. gone, when not nil, receives the state of version 5's slow-pattern channel, at its
// place in that version's order.
func (d *Detector) fields(version int, gone *slowPattern) []any {
	fc := &d.fc
	fs := []any{
		&d.p.warmUp, &d.p.memory, &d.p.alarm, &d.p.quiet,
		&d.n,
		&fc.n, &fc.level, &fc.base, fc.profile[0][:], fc.profile[1][:], &fc.visited[0], &fc.visited[1],
		&fc.errPlain, &fc.errSeas, &fc.dev,
	}
	cs := []*novelty{&d.cx}
	if gone != nil {
		cs = append(cs, &gone.cx)
	}
	for _, c := range cs {
		fs = append(fs, &c.n, &c.center, &c.spread, c.hist[:], &c.run, &c.last, c.seen[:])
	}
	if gone != nil {
		fs = append(fs, &gone.blockSum, &gone.blockN)
	}
	r := &d.resid.s
	fs = append(fs, &r.n, &r.short, &r.mean, &r.vari, d.resid.c.surprise[:])
	es := []*noveltyChannel{&d.novel}
	if gone != nil {
		es = append(es, &gone.ch)
	}
	for _, e := range es {
		fs = append(fs, &e.s.n, &e.s.short, &e.s.mean, &e.s.vari, &e.t.low, &e.t.high)
	}
	z := &d.stops
	fs = append(fs, &z.p0, &z.q, &z.run, &z.n, &z.held, z.c.surprise[:])
	fs = append(fs, d.reports.surprise[:], d.pk.block[:], &d.pk.head, &d.pk.cur, &d.pk.in)
	if version >= 7 {
		fs = append(fs, &d.rec.n, &d.rec.lo, &d.rec.hi, &d.rec.rate)
	}
	if version >= 8 {
		vt := &d.vt
		fs = append(fs, &vt.n, vt.rate[:], &vt.prev, vt.trips[:], vt.last[:], vt.gap[:], vt.gapVari[:], &vt.onTime)
	}
	if version >= 9 {
		fs = append(fs, &d.resid.c.top, &d.stops.c.top, &d.reports.top)
	}
	if version >= 10 {
		fs = append(fs, &d.rep.n, &d.rep.last, &d.rep.share)
	}
	if version >= 11 {
		u := &d.stuck
		fs = append(fs, &u.run, &u.longest, &u.n, &u.held, &u.due, &u.pairs, &u.again, u.c.surprise[:], &u.c.top)
	}
	if version >= 12 {
		// The zone the time-of-day profile was learned in: a restore under another one
		// knows its slots mean other hours (state.go).
		fs = append(fs, &d.p.zone)
	}
	if version >= 13 {
		fs = append(fs, &fc.timed, &fc.last, &fc.step)
	}
	if version >= 14 {
		fs = append(fs, &d.young.level, &d.young.trend, &d.young.over)
	}
	if version >= 15 {
		// An excursion under way, and the residual curve as it was before it (lasting.go).
		l := &d.last
		fs = append(fs, &l.open, &l.met, &l.sign, &l.run, &l.inside, &l.k, &l.devRef, l.was.surprise[:], &l.was.top)
	}
	if version >= 16 {
		fs = append(fs, &d.stops.told)
	}
	if version >= versionOwed {
		// A stall's report not yet given, and whether it has been (stuck.go, detector.go).
		fs = append(fs, &d.stuck.owed, &d.stuck.paged)
	}
	return fs
}

// MarshalMsgpack returns a snapshot of the detector (about 6 KB).
func (d *Detector) MarshalMsgpack() ([]byte, error) {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	fs := d.fields(snapshotVersion, nil)
	if err := enc.EncodeArrayLen(len(fs) + 1); err != nil {
		return nil, err
	}
	if err := enc.EncodeInt(snapshotVersion); err != nil {
		return nil, err
	}
	for _, f := range fs {
		if err := encodeField(enc, f); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

func encodeField(enc *msgpack.Encoder, f any) error {
	switch p := f.(type) {
	case *int:
		return enc.EncodeInt(int64(*p))
	case *int64:
		return enc.EncodeInt(*p)
	case *int32:
		return enc.EncodeInt(int64(*p))
	case *uint64:
		return enc.EncodeUint(*p)
	case *float64:
		return enc.EncodeFloat64(*p)
	case *bool:
		return enc.EncodeBool(*p)
	case *string:
		return enc.EncodeString(*p)
	case []float64:
		if err := enc.EncodeArrayLen(len(p)); err != nil {
			return err
		}
		for _, v := range p {
			if err := enc.EncodeFloat64(v); err != nil {
				return err
			}
		}
		return nil
	case []int8:
		b := make([]byte, len(p))
		for i, v := range p {
			b[i] = byte(v)
		}
		return enc.EncodeBytes(b)
	case []uint16:
		b := make([]byte, 2*len(p))
		for i, v := range p {
			binary.LittleEndian.PutUint16(b[2*i:], v)
		}
		return enc.EncodeBytes(b)
	}
	return fmt.Errorf("anomaly: snapshot: unsupported field type %T", f)
}

// UnmarshalMsgpack restores a snapshot taken by MarshalMsgpack. On error the detector is left
// unchanged.
func (d *Detector) UnmarshalMsgpack(b []byte) error {
	dec := msgpack.NewDecoder(bytes.NewReader(b))
	var nd Detector
	n, err := dec.DecodeArrayLen()
	if err != nil {
		return fmt.Errorf("anomaly: snapshot: %w", err)
	}
	v, err := dec.DecodeInt()
	if err != nil {
		return fmt.Errorf("anomaly: snapshot: version: %w", err)
	}
	var gone *slowPattern
	switch v {
	case snapshotVersion, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6:
	case 5:
		gone = new(slowPattern)
	default:
		return fmt.Errorf("anomaly: snapshot: version %d, want %d (or 5 to 16)", v, snapshotVersion)
	}
	fs := nd.fields(int(v), gone)
	if n != len(fs)+1 {
		return fmt.Errorf("anomaly: snapshot: %d fields, want %d", n, len(fs)+1)
	}
	for i, f := range fs {
		bound := maxState
		if nd.onlyCompared(f) {
			bound = math.MaxFloat64
		}
		if err := decodeField(dec, f, bound); err != nil {
			return fmt.Errorf("anomaly: snapshot: field %d: %w", i, err)
		}
	}
	if err := nd.p.validate(); err != nil {
		return fmt.Errorf("anomaly: snapshot: %w", err)
	}
	if v < 12 {
		nd.p.zone = defaultZone
	}
	if v < 14 {
		nd.youngFrom()
	}
	// A zone this binary's database does not know (a snapshot from a newer one, or garbage)
	// cannot be read on any clock: refused, as a bad setting is.
	if nd.p.loc, err = loadZone(nd.p.zone); err != nil {
		return fmt.Errorf("anomaly: snapshot: time zone: %w", err)
	}
	if v < 9 {
		for _, c := range []*tailCurve{&nd.resid.c, &nd.stops.c, &nd.reports} {
			c.top = c.levelTop()
		}
	}
	// Counters feed rates of 1/n: a negative one would poison the state with Inf. Each point
	// adds one, so one near math.MaxInt64 (which no series reaches: 2^62 points are 44 billion
	// years of 1-second points) would wrap to a negative one and the next snapshot be refused.
	for _, c := range []int64{nd.n, nd.fc.n, nd.cx.n, nd.resid.s.n, nd.novel.s.n, nd.stops.n,
		nd.rec.n, nd.vt.n, nd.rep.n, nd.stuck.n, nd.fc.timed,
		int64(nd.cx.run), int64(nd.pk.in), int64(nd.stops.run), int64(nd.stuck.run), int64(nd.stuck.longest),
		nd.last.k, int64(nd.last.run), int64(nd.last.inside)} {
		if c < 0 || c > maxCounter {
			return errors.New("anomaly: snapshot: counter out of range")
		}
	}
	if nd.pk.head < 0 || nd.pk.head >= peakBlocks || nd.last.sign < -1 || nd.last.sign > 1 {
		return errors.New("anomaly: snapshot: counter out of range")
	}
	// An open excursion's int32 counts go up one a point (the run until it is met) and stop at
	// the Quiet in force, so a detector writes them below maxQuiet; one at math.MaxInt32 wrapped
	// negative at the next point, and the detector's next snapshot was refused. Once met or
	// closed they never count again.
	if l := nd.last; l.open && (l.inside >= maxQuiet || !l.met && l.run >= maxQuiet) {
		return errors.New("anomaly: snapshot: excursion out of range")
	}
	// What a detector keeps of a run lives only while the run does: a stall's held price, owed
	// report and page are set at its repeats (a page only once a price is held, and it owes nothing
	// after), a stop is told at one of its zeros, and each is cleared when its run ends. Without
	// the run, the next run inherited them (a stop untold silenced, a new stall's page taken away
	// or priced at a stale owed report).
	if u := nd.stuck; u.run == 0 && u.held != 0 || u.held == 0 && (u.owed != 0 || u.paged) ||
		u.owed != 0 && u.paged || nd.stops.told && nd.stops.run == 0 {
		return errors.New("anomaly: snapshot: a run's state without its run")
	}
	// The baselines of the residual and novelty channels are averages of a measure in [0, maxZ]
	// (the standardised residual, capped; the share of new contexts) and their variance: far out
	// of that range (twice it leaves room for rounding), (short−mean)² overflows, and the channel
	// scores NaN.
	for _, s := range []*surprise{&nd.resid.s, &nd.novel.s} {
		if !(math.Abs(s.short) <= 2*maxZ && math.Abs(s.mean) <= 2*maxZ && s.vari <= 4*maxZ*maxZ) {
			return errors.New("anomaly: snapshot: channel baseline out of range")
		}
	}
	// Scales and rates are square roots and logarithms away from a NaN: refuse negative ones.
	scales := []float64{nd.fc.dev, nd.fc.errPlain, nd.fc.errSeas, nd.fc.step, nd.cx.spread,
		nd.resid.s.vari}
	scales = append(scales, nd.resid.c.surprise[:]...)
	scales = append(scales, nd.reports.surprise[:]...)
	scales = append(scales, nd.stops.p0, nd.stops.q)
	scales = append(scales, nd.stops.c.surprise[:]...)
	scales = append(scales, nd.novel.s.vari, nd.novel.t.low, nd.novel.t.high, nd.rec.rate)
	scales = append(scales, nd.resid.c.top, nd.stops.c.top, nd.reports.top)
	scales = append(scales, nd.stuck.held, nd.stuck.due, nd.stuck.owed, nd.stuck.c.top)
	scales = append(scales, nd.stuck.c.surprise[:]...)
	scales = append(scales, nd.last.devRef, nd.last.was.top)
	scales = append(scales, nd.last.was.surprise[:]...)
	for _, x := range scales {
		if x < 0 {
			return errors.New("anomaly: snapshot: negative scale or rate")
		}
	}
	// A range upside down would make every value a record, and a rate above 1 a negative
	// surprise.
	if nd.rec.n > 0 && nd.rec.lo > nd.rec.hi || nd.rec.rate > 1 {
		return errors.New("anomaly: snapshot: records out of range")
	}
	// The value tail's rates are shares of points: each in [0, 1], and a negative one would
	// make a sum of them a logarithm of a negative number.
	for _, x := range nd.vt.rate {
		if !(x >= 0 && x <= 1) {
			return errors.New("anomaly: snapshot: value tail rate out of range")
		}
	}
	// The shares of repeats are shares of points, compared with bodyShare and divided one by the
	// other into a probability.
	if !(nd.rep.share >= 0 && nd.rep.share <= 1) || !(nd.stuck.pairs >= 0 && nd.stuck.pairs <= 1) {
		return errors.New("anomaly: snapshot: share of repeats out of range")
	}
	// The previous bin indexes the histogram; trip counts, gaps and their variances are
	// counts and squares. A trip count grows by one from 0 (valueTail.trip), so it is a whole
	// number and not negative: one between 0 and 1 (a subnormal of a corrupt snapshot) made the
	// gaps' rate 1/trips = +Inf, the gap +Inf and the detector's next snapshot refused. A
	// negative zero, which no detector writes, is refused with the negatives.
	if nd.vt.prev < 0 || nd.vt.prev >= 2*valueSpan {
		return errors.New("anomaly: snapshot: value tail bin out of range")
	}
	// The trips' times are Unix seconds of an int64, their gaps differences of two, and the gaps'
	// variance a square of one: beyond those, the next gap's square overflows.
	for i := range nd.vt.trips {
		if x := nd.vt.trips[i]; math.Signbit(x) || x != math.Trunc(x) || !(math.Abs(nd.vt.last[i]) <= 1<<63) ||
			!(nd.vt.gap[i] >= 0 && nd.vt.gap[i] <= 1<<64) || !(nd.vt.gapVari[i] >= 0 && nd.vt.gapVari[i] <= 1<<128) {
			return errors.New("anomaly: snapshot: value tail trips out of range")
		}
	}
	nd.pk.recompute()
	*d = nd
	return nil
}

// maxCounter bounds a snapshot's counters of points, far from the int64 limit an increment would
// wrap around.
const maxCounter = 1 << 62

// maxState bounds every number of a snapshot but those onlyCompared lists. A detector learns
// values within ±maxValue, and its levels, profile and spreads are averages and differences of
// them. Not all within a few: the seasonal baseline and profile were measured at up to 60 times
// the values' range at Memory 10 (each new slot starts at the point less the baseline, and there
// the baseline follows the point, so the first visits compound), a few times at the default;
// this leaves a factor of about 1000 above that (TestSnapshotsOfExtremeSeriesRestore). A larger
// number (a corrupt snapshot) would overflow a band of bandZ deviations or a difference of two
// levels to ±Inf.
const maxState = 1e305

// onlyCompared reports whether f points to a raw value the state keeps only to compare values
// with: the records' range (a value beyond it by a margin, where a sum that rounds to ±Inf only
// makes the comparison false) and the previous value (equality). A detector built before
// maxValue learned values up to math.MaxFloat64 there, in snapshots of today's version; the
// rest of its state stayed ordinary, and the records' range never shrinks, so refusing them
// dropped such a series' history at every restart after the upgrade. They are accepted at any
// finite size.
func (d *Detector) onlyCompared(f any) bool {
	return f == any(&d.rec.lo) || f == any(&d.rec.hi) || f == any(&d.rep.last)
}

var errNotFinite = errors.New("not a finite number within its bound (±1e305 for most)")

// decodeField decodes one field into f; a float64 must be within ±bound.
func decodeField(dec *msgpack.Decoder, f any, bound float64) error {
	switch p := f.(type) {
	case *int:
		v, err := dec.DecodeInt64()
		if err == nil && int64(int(v)) != v {
			err = fmt.Errorf("%d overflows int", v)
		}
		*p = int(v)
		return err
	case *int64:
		v, err := dec.DecodeInt64()
		*p = v
		return err
	case *int32:
		v, err := dec.DecodeInt64()
		if err == nil && int64(int32(v)) != v {
			err = fmt.Errorf("%d overflows int32", v)
		}
		*p = int32(v)
		return err
	case *uint64:
		v, err := dec.DecodeUint64()
		*p = v
		return err
	case *float64:
		v, err := dec.DecodeFloat64()
		if err == nil && !(math.Abs(v) <= bound) {
			err = errNotFinite
		}
		*p = v
		return err
	case *bool:
		v, err := dec.DecodeBool()
		*p = v
		return err
	case *string:
		v, err := dec.DecodeString()
		*p = v
		return err
	case []float64:
		n, err := dec.DecodeArrayLen()
		if err != nil {
			return err
		}
		if n != len(p) {
			return fmt.Errorf("%d values, want %d", n, len(p))
		}
		for i := range p {
			if err := decodeField(dec, &p[i], bound); err != nil {
				return err
			}
		}
		return nil
	case []int8:
		b, err := decodeBytes(dec, len(p))
		if err != nil {
			return err
		}
		for i := range p {
			p[i] = int8(b[i])
		}
		return nil
	case []uint16:
		b, err := decodeBytes(dec, 2*len(p))
		if err != nil {
			return err
		}
		for i := range p {
			p[i] = binary.LittleEndian.Uint16(b[2*i:])
		}
		return nil
	}
	return fmt.Errorf("unsupported field type %T", f)
}

// decodeBytes reads a byte field of exactly want bytes. Its length is checked before anything is
// allocated: msgpack's DecodeBytes allocates and zeroes the length a field declares, up to 4 GiB,
// before it finds the input shorter, and a corrupt snapshot of a few kilobytes must not cost that.
func decodeBytes(dec *msgpack.Decoder, want int) ([]byte, error) {
	n, err := dec.DecodeBytesLen()
	if err != nil {
		return nil, err
	}
	if n != want {
		return nil, fmt.Errorf("%d bytes, want %d", n, want)
	}
	b := make([]byte, n)
	return b, dec.ReadFull(b)
}
