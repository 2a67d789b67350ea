package main

// The worker embeds the IANA zone database (about 415 KB) so that anomaly.time_zone resolves in
// any image: the deploy image's base (distroless/static) carries /usr/share/zoneinfo today, but
// a scratch or slimmer base would not, and the name would then fail at start on a machine
// whose configuration is right. The system's database, when present, is still read first
// (time.LoadLocation), so an image that updates it gets the newer rules.
import _ "time/tzdata"
