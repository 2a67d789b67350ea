package anomaly

import (
	"errors"
	"fmt"
	"time"
)

// The seasonal profile (forecast.go) splits the week into weekdays and weekends and the day into
// half-hour slots on a clock. Traffic follows its users' clock: their weekend starts at their
// midnight, their working day at their 09:00, and both move by an hour when their clocks change
// for daylight saving. So the clock is the users', named by anomaly.time_zone, as CloudWatch,
// Grafana and Datadog schedules name theirs. UTC, the default, is computed from Unix seconds
// alone; a zone adds one lookup of its offset at the instant, which has the day of 23 or 25
// hours right: on the wall clock an hour is skipped or repeated, and a point at 01:30 local is
// in slot 3 whatever the offset that day.

// defaultZone is Config.TimeZone's default, and the zone of every snapshot taken before the
// setting existed (versions 5 to 11).
const defaultZone = "UTC"

// loadZone resolves an IANA zone name. It returns nil for UTC, which the detector computes
// without a conversion (slotsAt). The worker binary embeds the zone database (cmd/worker), so
// a name resolves whether or not the image has /usr/share/zoneinfo.
func loadZone(name string) (*time.Location, error) {
	switch name {
	case defaultZone:
		return nil, nil
	case "":
		return nil, errors.New("empty, want an IANA zone name such as Europe/Berlin (default UTC)")
	case "Local":
		// time.LoadLocation accepts it as the machine's zone: a container's, usually UTC,
		// which says nothing about the users'.
		return nil, errors.New(`"Local" is the machine's zone, not the users': name their zone, such as Europe/Berlin`)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%q is not a zone of the IANA database (%v)", name, err)
	}
	return loc, nil
}

// slotsIn returns the profile (0 weekday, 1 weekend) and the time-of-day slot of t on the wall
// clock of loc (nil: UTC). Shifting the Unix seconds by the zone's offset at t gives the
// wall clock's seconds since a local 1970-01-01 00:00, which slotsAt splits as for UTC.
func slotsIn(t time.Time, loc *time.Location) (int, int) {
	sec := t.Unix()
	if loc != nil {
		_, off := t.In(loc).Zone()
		sec += int64(off)
	}
	return slotsAt(sec)
}
