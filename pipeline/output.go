package pipeline

// Output is everything one window produced: the fleet's aggregator merges every partition's
// partial into one and hands it to every sink. Sinks must treat it as read-only: the same
// Output is shared by all of them.
type Output struct {
	Window Window
	// Owner, if set, is added to the sinks' object keys (kind, name, window, owner). The
	// aggregator's outputs have none: whichever aggregator merges a window writes the same keys.
	Owner   string
	Points  []Point
	Reports []Report
}
