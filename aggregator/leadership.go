package aggregator

import "context"

// Leadership says when this process is the fleet's aggregator. The source's own distribution
// elects it: on Kafka the member whose assignment holds partition 0 of the first topic, on
// Kinesis the holder of the aggregator row in the lease table. The wiring implements it.
type Leadership interface {
	// Acquired delivers a Term each time this process becomes the aggregator. The aggregator
	// receives from it only while it holds no term, so an implementation must not block on
	// the send forever: it should give up when the term's Ctx ends before it was taken.
	Acquired() <-chan Term
}

// Term is one tenure as the aggregator.
type Term struct {
	// Ctx ends when the tenure does (the partition is revoked, the lease lost). The aggregator
	// stops writing promptly after, but a write already sent may still land: the store's
	// compare-and-swap and Token fence what it can.
	Ctx context.Context
	// Token increases with every tenure across the fleet (a Kafka group generation, a Kinesis
	// lease counter). It is written into the aggregator's state, and a term that finds a
	// higher token there stops: a newer aggregator exists. A token source can start again
	// (a Kafka group deleted and recreated, a lease table recreated): a higher token in a state
	// nobody saved for staleAfter no longer fences (see stale).
	Token int64
	// Done, if set, is closed once the aggregator has stopped serving the term (its last
	// write returned), so that a Leadership giving the term up can wait for that.
	Done chan struct{}
}
