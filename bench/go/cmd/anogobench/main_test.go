package main

import (
	"bytes"
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anogo/anogo/sdk/dcgan"
)

// TestRunPrintsRow runs every task once on a tiny batch and checks the CSV
// that bench/run.py parses.
func TestRunPrintsRow(t *testing.T) {
	for _, task := range tasks {
		var out bytes.Buffer
		args := []string{"--tasks", task, "--configs", "28", "--reps", "2", "--warmup", "1", "--batch", "2", "--threads", "2"}
		if err := run(args, &out, io.Discard); err != nil {
			t.Fatalf("%s: %v", task, err)
		}
		recs, err := csv.NewReader(&out).ReadAll()
		if err != nil {
			t.Fatalf("%s: output is not CSV: %v\n%s", task, err, out.String())
		}
		if len(recs) != 2 {
			t.Fatalf("%s: %d CSV records, want a header and one row", task, len(recs))
		}
		for i, c := range columns {
			if recs[0][i] != c {
				t.Fatalf("%s: header %v, want %v", task, recs[0], columns)
			}
		}
		row := recs[1]
		if row[0] != task || row[1] != "28" || row[2] != "anogo" {
			t.Errorf("%s: row %v, want task %s, config 28, impl anogo", task, row, task)
		}
		if v, err := strconv.ParseFloat(row[3], 64); err != nil || !(v > 0) {
			t.Errorf("%s: items_per_s %q, want a positive number", task, row[3])
		}
		if v, err := strconv.ParseFloat(row[6], 64); err != nil || !(v > 10) {
			t.Errorf("%s: peak_rss_mb %q, want more than 10 MiB", task, row[6])
		}
	}
}

// TestMethodTasksRun runs the methods' tasks once at a tiny width.
func TestMethodTasksRun(t *testing.T) {
	for _, task := range []string{taskTrainJointenc, taskEncodeJointenc, taskTrainDpa, taskEncodeDpa, taskTrainStylegan2} {
		var out bytes.Buffer
		args := []string{"--tasks", task, "--configs", "28", "--reps", "1", "--warmup", "1", "--batch", "4", "--width", "4"}
		if err := run(args, &out, io.Discard); err != nil {
			t.Fatalf("%s: %v", task, err)
		}
		recs, err := csv.NewReader(&out).ReadAll()
		if err != nil || len(recs) != 2 || recs[1][0] != task {
			t.Fatalf("%s: output %q (%v)", task, out.String(), err)
		}
		if v, err := strconv.ParseFloat(recs[1][3], 64); err != nil || !(v > 0) {
			t.Errorf("%s: items_per_s %q, want a positive number", task, recs[1][3])
		}
	}
}

func TestParseFlagsRejects(t *testing.T) {
	for i, args := range [][]string{
		{"--tasks", "fly"},
		{"--configs", "48"},
		{"--reps", "-1"},
		{"--batch", "0"},
		{"--tasks", "train,map", "--cpuprofile", "x.prof"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("case %d %v: no error", i, args)
		}
	}
}

func TestMedian(t *testing.T) {
	ms := time.Millisecond
	if got := median([]time.Duration{5 * ms, 1 * ms, 3 * ms}); got != 3*ms {
		t.Errorf("median of 5, 1, 3 ms = %v, want 3ms", got)
	}
	if got := median([]time.Duration{4 * ms, 1 * ms, 3 * ms, 2 * ms}); got != 2500*time.Microsecond {
		t.Errorf("median of 4, 1, 3, 2 ms = %v, want 2.5ms", got)
	}
}

// TestMapImages maps a few phantom patches with a tiny model: trained and
// saved the first time, loaded the second, with every query done in at
// most Γ steps.
func TestMapImages(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny model for 300 steps")
	}
	cfg := dcgan.Config{Size: 28, Width: 4, Latent: 8}
	dir := t.TempDir()
	var log strings.Builder
	for run := range 2 {
		log.Reset()
		r, err := mapImages("28", cfg, 8, 8, 1, dir, &log)
		if err != nil {
			t.Fatal(err)
		}
		if r.wall <= 0 || r.steps <= 0 || r.steps > mapimgGamma {
			t.Errorf("run %d: wall %v, %v steps per query", run, r.wall, r.steps)
		}
		// Early stop cannot beat the full mapping by more than rounding, and
		// stops where the loss barely moves.
		if r.excessMedian < -0.05 || r.excessMax > 0.5 || r.excessMedian > r.excessMax {
			t.Errorf("run %d: final loss excess median %v, max %v", run, r.excessMedian, r.excessMax)
		}
		if trained := strings.Contains(log.String(), "training the mapimg model"); trained != (run == 0) {
			t.Errorf("run %d: trained %v; log %q", run, trained, log.String())
		}
	}
}
