package main

import (
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestRunWritesNABLayout(t *testing.T) {
	root, out := t.TempDir(), t.TempDir()
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	t0 := time.Date(2014, 2, 14, 0, 0, 0, 0, time.UTC)
	const rows = 600
	for i := 0; i < rows; i++ {
		v := strconv.FormatFloat(50+10*math.Sin(float64(i)/20), 'g', -1, 64)
		if i == 400 {
			v = "n/a" // kept as a row, never learned, never scored
		}
		fmt.Fprintf(&b, "%s,%s\n", t0.Add(time.Duration(i)*5*time.Minute).Format(nabTime), v)
	}
	in := filepath.Join(root, "data", "realSomething", "series_1.csv")
	if err := os.MkdirAll(filepath.Dir(in), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"-data", root, "-out", out}); err != nil {
		t.Fatal(err)
	}

	f, err := os.Open(filepath.Join(out, "realSomething", "weir_series_1.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := csv.NewReader(strings.NewReader(b.String())).ReadAll()
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	if h := strings.Join(got[0], ","); h != "timestamp,value,anomaly_score" {
		t.Fatalf("header %q", h)
	}
	for i := 1; i < len(got); i++ {
		if got[i][0] != want[i][0] {
			t.Fatalf("row %d: timestamp %q, want %q", i, got[i][0], want[i][0])
		}
		s, err := strconv.ParseFloat(got[i][2], 64)
		if err != nil || s < 0 || s > 1 {
			t.Fatalf("row %d: anomaly_score %q, want a number in [0, 1]", i, got[i][2])
		}
		if i == 401 && s != 0 {
			t.Errorf("row with an unparsable value scored %v, want 0", s)
		}
	}
}

func TestRunRejectsBadArguments(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"-out", dir},
		{"-data", dir},
		{"-data", dir, "-out", dir, "-score", "max"},
		{"-data", dir, "-out", dir, "-alarm", "2"},
		{"-data", dir, "-out", dir, "-detector", "htm"},
		{"-data", dir, "-out", dir}, // no CSV files under DIR/data
	} {
		if err := run(args); err == nil {
			t.Errorf("run(%q) succeeded, want an error", args)
		}
	}
}
