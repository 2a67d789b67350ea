package pipeline

import "time"

// SetTickEvery sets how often a runtime's runners look at the clock when no records come
// (before any Assign): tests that move a settable Clock tick in milliseconds of real time.
func SetTickEvery(rt *Runtime, d time.Duration) { rt.tickEvery = d }

// SetDeadLetterLinger sets how long the dead-letter writer waits to batch letters (before
// Start): tests that wait for commit points behind dead letters need not wait a second each.
func SetDeadLetterLinger(rt *Runtime, d time.Duration) { rt.deadLetters.linger = d }
