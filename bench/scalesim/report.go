package main

import (
	"fmt"
	"io"
	"math"
	"time"
)

// Result is what one run is judged by.
type Result struct {
	Profile string `json:"profile"`
	Stream  string `json:"stream"`
	Mode    Mode   `json:"mode"`
	// TimeToRecoverSeconds is the longest time lag stayed above the lag target (LagTarget
	// seconds of arrivals) in one stretch.
	TimeToRecoverSeconds float64 `json:"time_to_recover_s"`
	// BurstRecoverySeconds is, for profiles with a burst, the time from the burst's start until
	// lag was back under target (0 when lag never went above it).
	BurstRecoverySeconds float64 `json:"burst_recovery_s,omitempty"`
	// RecoveredInCatchUp says every above-target stretch ended within the catch-up window.
	RecoveredInCatchUp bool    `json:"recovered_within_catch_up_window"`
	PeakLag            float64 `json:"peak_lag_records"`
	// PeakLagSeconds is the peak lag in seconds of the arrivals at that moment.
	PeakLagSeconds float64 `json:"peak_lag_s"`
	TaskMinutes    float64 `json:"task_minutes"`
	// IdealTaskMinutes is ⌈arrival ÷ (target utilisation × task rate)⌉ integrated over time:
	// an oracle with zero start delay and zero lag, for scale.
	IdealTaskMinutes float64 `json:"ideal_task_minutes"`
	ScaleOuts        int     `json:"scale_outs"`
	ScaleIns         int     `json:"scale_ins"`
	Oscillations     int     `json:"oscillations"`
	MinTasks         int     `json:"min_tasks"`
	MaxTasks         int     `json:"max_tasks"`
	// SettledMin and SettledMax are the ECS desired count's range after the first half hour:
	// the band the fleet stays in once it has found its size.
	SettledMin int `json:"settled_min"`
	SettledMax int `json:"settled_max"`
	// FinalLag is the lag when the run ended, in seconds of the arrivals then.
	FinalLagSeconds float64  `json:"final_lag_s"`
	Actions         []Action `json:"actions"`
	Samples         []Sample `json:"-"`
}

// tracker accumulates the per-second figures of a run.
type tracker struct {
	lagTarget      float64
	above          bool
	aboveSince     time.Duration
	longest        time.Duration
	burstAt        time.Duration
	burstRecovered time.Duration
	peakLag        float64
	peakLagSecs    float64
	taskSeconds    float64
	idealSeconds   float64
	minTasks       int
	maxTasks       int
	settledMin     int
	settledMax     int
	idealPerTask   float64
	lastLag        float64
	lastArrival    float64
}

func (tr *tracker) init(s Scenario, taskRate float64) {
	tr.lagTarget = s.LagTarget.Seconds()
	tr.burstAt = s.Profile.BurstAt
	tr.minTasks, tr.settledMin = math.MaxInt, math.MaxInt
	tr.idealPerTask = s.Scaling.TargetUtilization * taskRate
}

// settleAfter is when a run's band starts: the fleet has found its size by then.
const settleAfter = 30 * time.Minute

func (tr *tracker) second(t time.Duration, arrival, lag float64, tasks int) {
	tr.taskSeconds += float64(tasks)
	tr.idealSeconds += math.Max(1, math.Ceil(arrival/tr.idealPerTask-1e-9))
	tr.minTasks, tr.maxTasks = min(tr.minTasks, tasks), max(tr.maxTasks, tasks)
	if t >= settleAfter {
		tr.settledMin, tr.settledMax = min(tr.settledMin, tasks), max(tr.settledMax, tasks)
	}
	tr.lastLag, tr.lastArrival = lag, arrival
	if lag > tr.peakLag {
		tr.peakLag = lag
		if arrival > 0 {
			tr.peakLagSecs = lag / arrival
		}
	}
	isAbove := lag > tr.lagTarget*arrival
	switch {
	case isAbove && !tr.above:
		tr.above, tr.aboveSince = true, t
	case !isAbove && tr.above:
		tr.above = false
		tr.longest = max(tr.longest, t-tr.aboveSince)
		if tr.burstAt > 0 && tr.burstRecovered == 0 && tr.aboveSince >= tr.burstAt {
			tr.burstRecovered = t - tr.burstAt
		}
	}
}

func (tr *tracker) result(s Scenario, actions []Action, samples []Sample) Result {
	if tr.above { // still behind at the end: the stretch has not ended
		tr.longest = max(tr.longest, s.Profile.Duration-tr.aboveSince)
	}
	r := Result{
		Profile: s.Profile.Name, Stream: s.Layout.Name, Mode: s.Mode,
		TimeToRecoverSeconds: tr.longest.Seconds(),
		BurstRecoverySeconds: tr.burstRecovered.Seconds(),
		RecoveredInCatchUp:   !tr.above && tr.longest <= s.Scaling.CatchUpWindow,
		PeakLag:              math.Round(tr.peakLag),
		PeakLagSeconds:       math.Round(tr.peakLagSecs*10) / 10,
		TaskMinutes:          math.Round(tr.taskSeconds / 60),
		IdealTaskMinutes:     math.Round(tr.idealSeconds / 60),
		MinTasks:             tr.minTasks, MaxTasks: tr.maxTasks,
		SettledMin: tr.settledMin, SettledMax: tr.settledMax,
		Actions: actions, Samples: samples,
	}
	if tr.lastArrival > 0 {
		r.FinalLagSeconds = math.Round(tr.lastLag/tr.lastArrival*10) / 10
	}
	var lastIn time.Duration
	haveIn := false
	for _, a := range actions {
		if a.To > a.From {
			r.ScaleOuts++
			if haveIn && a.T-lastIn < s.OscillationWindow {
				r.Oscillations++
			}
		} else {
			r.ScaleIns++
			lastIn, haveIn = a.T, true
		}
	}
	return r
}

// writeMarkdown writes the results table the README embeds.
func writeMarkdown(w io.Writer, rs []Result) error {
	if _, err := fmt.Fprintln(w, "| profile | stream | signal | time to recover | burst recovery | peak lag (records / s of input) | lag at the end | task-minutes (ideal) | scale-outs / -ins | oscillations | tasks min–max (after 30 min) |"); err != nil {
		return err
	}
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		burst := "—"
		if r.BurstRecoverySeconds > 0 {
			burst = fmtDur(r.BurstRecoverySeconds)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %.0f / %.1f s | %.1f s | %.0f (%.0f) | %d / %d | %d | %d–%d (%d–%d) |\n",
			r.Profile, r.Stream, r.Mode, fmtDur(r.TimeToRecoverSeconds), burst, r.PeakLag, r.PeakLagSeconds, r.FinalLagSeconds,
			r.TaskMinutes, r.IdealTaskMinutes, r.ScaleOuts, r.ScaleIns, r.Oscillations, r.MinTasks, r.MaxTasks, r.SettledMin, r.SettledMax)
	}
	return nil
}

func fmtDur(s float64) string {
	if s == 0 {
		return "0 s"
	}
	return (time.Duration(s) * time.Second).String()
}
