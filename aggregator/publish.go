package aggregator

import (
	"context"
	"encoding/json"
	"fmt"
)

// claimBody is the content of a publish marker: who claimed the window. The nonce makes every
// term's claim distinct, so a claim retried after a lost answer recognises its own marker.
type claimBody struct {
	WindowStart string `json:"window_start"`
	Token       int64  `json:"token"`
	Nonce       string `json:"nonce"`
}

// publish claims the window's publication and, if the claim is this term's, publishes its
// points. A window already claimed (an earlier aggregator merged it, or this one before a
// restart) is skipped: CloudWatch would add the points twice. Once claimed, the publish is
// retried (at each poll) without claiming again, for as long as the term lasts; a term that
// ends in between leaves the window unpublished (at-most-once).
func (t *term) publish(ctx context.Context, pw *pending) error {
	a := t.a
	if a.publish == nil || len(pw.out.Points) == 0 {
		a.m.publishes.WithLabelValues("empty").Inc()
		return nil
	}
	if !pw.claimed {
		body, err := json.Marshal(claimBody{WindowStart: rfc3339(pw.w.Start), Token: t.token, Nonce: t.nonce})
		if err != nil {
			return err
		}
		ok, err := a.store.ClaimPublish(ctx, pw.w, body)
		if err != nil {
			a.m.errors.WithLabelValues(opClaim).Inc()
			return fmt.Errorf("aggregator: claiming the publication of %s: %w", rfc3339(pw.w.Start), err)
		}
		if !ok {
			a.m.publishes.WithLabelValues("skipped").Inc()
			t.log.Info("aggregator: window already published; not publishing again", "window", rfc3339(pw.w.Start))
			return nil
		}
		pw.claimed = true
	}
	if err := a.publish.Write(ctx, pw.out); err != nil {
		a.m.errors.WithLabelValues(opPublish).Inc()
		a.sinkErrors.Add(1)
		return fmt.Errorf("aggregator: publishing %s: %w", rfc3339(pw.w.Start), err)
	}
	a.m.publishes.WithLabelValues("published").Inc()
	return nil
}
