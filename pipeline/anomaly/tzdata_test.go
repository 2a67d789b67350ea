package anomaly

// The tests name zones (Europe/Berlin, America/New_York): the zone database is embedded in the
// test binary, as cmd/worker embeds it in the worker, so that they pass on a machine without
// /usr/share/zoneinfo.
import _ "time/tzdata"
