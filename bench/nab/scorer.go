package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// profiles are NAB's three cost profiles, in the order the tables print them.
var profiles = []string{"standard", "reward_low_FP_rate", "reward_low_FN_rate"}

// profileResult is nabscore's result for one profile on one scored set.
type profileResult struct {
	Score     *float64              `json:"score"`     // nil when the set has no windows
	Threshold *float64              `json:"threshold"` // nil only in a saved run written without it
	Raw       float64               `json:"raw_score"`
	Null      float64               `json:"null_raw_score"`
	Perfect   float64               `json:"perfect_raw_score"`
	TPWindows int                   `json:"tp_windows"`
	FNWindows int                   `json:"fn_windows"`
	FPRows    int                   `json:"fp_rows"`
	Files     map[string]fileResult `json:"files,omitempty"`
}

// fileResult is nabscore's per-file result (--per-file) for one profile.
type fileResult struct {
	Raw       float64 `json:"raw_score"`
	TPWindows int     `json:"tp_windows"`
	FNWindows int     `json:"fn_windows"`
	FPRows    int     `json:"fp_rows"`
}

// scoreRun is one nabscore invocation's output.
type scoreRun struct {
	Profiles map[string]profileResult `json:"profiles"`
}

// scorer runs nabscore.py.
type scorer struct {
	script  string // path of nabscore.py
	data    string // NAB data/ directory
	results string // results directory (<category>/<detector>_<name>.csv)
	tmp     string // where label files are written
}

// score scores the files of held with thresholds chosen on the files of from (nil: on held
// itself). name names the label files written for the run.
func (s *scorer) score(name string, held, from labelSet, perFile bool) (scoreRun, error) {
	heldPath := filepath.Join(s.tmp, name+"-scored.json")
	if err := writeJSON(heldPath, held); err != nil {
		return scoreRun{}, err
	}
	args := []string{"--labels", heldPath}
	if from != nil {
		fromPath := filepath.Join(s.tmp, name+"-thresholds.json")
		if err := writeJSON(fromPath, from); err != nil {
			return scoreRun{}, err
		}
		args = append(args, "--thresholds-from", fromPath)
	}
	if perFile {
		args = append(args, "--per-file")
	}
	return s.run(name, args)
}

// scoreAt scores the files of held at fixed thresholds (profile to threshold), with per-file
// results: another run's sweep, applied to this run's scores.
func (s *scorer) scoreAt(name string, held labelSet, thresholds map[string]float64) (scoreRun, error) {
	heldPath := filepath.Join(s.tmp, name+"-fixed-scored.json")
	if err := writeJSON(heldPath, held); err != nil {
		return scoreRun{}, err
	}
	// nabscore reads a flat {profile: threshold}; JSON keeps a float64 exactly (shortest
	// representation that round-trips), so a row at the threshold stays a detection.
	fixedPath := filepath.Join(s.tmp, name+"-fixed-thresholds.json")
	if err := writeJSON(fixedPath, thresholds); err != nil {
		return scoreRun{}, err
	}
	return s.run(name, []string{"--labels", heldPath, "--thresholds", fixedPath, "--per-file"})
}

// run runs nabscore with args after the data, results and detector arguments.
func (s *scorer) run(name string, args []string) (scoreRun, error) {
	args = append([]string{s.script, "--data", s.data, "--results", s.results,
		"--detector", detectorName}, args...)
	cmd := exec.Command("python3", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return scoreRun{}, fmt.Errorf("nabscore (%s): %w: %s", name, err, stderr.Bytes())
	}
	var r scoreRun
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		return scoreRun{}, fmt.Errorf("nabscore (%s): reading its output: %w", name, err)
	}
	for _, p := range profiles {
		if _, ok := r.Profiles[p]; !ok {
			return scoreRun{}, fmt.Errorf("nabscore (%s): no %s profile in its output", name, p)
		}
	}
	return r, nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
