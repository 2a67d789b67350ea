package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/weirstream/weir/internal/workerproc"
)

// TestZoneDatabaseEmbedded: the binary as `make build` builds it carries the zone database, so
// that anomaly.time_zone resolves in an image without /usr/share/zoneinfo. The database is
// embedded as a zip of stored (uncompressed) zone files, each a TZif file after its name:
// "Europe/BerlinTZif" is in the binary only if the zip is (the worker's own strings never put
// the two together). The binary also accepts the zone at start (-check) and refuses one the
// database does not have, naming the field.
func TestZoneDatabaseEmbedded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := workerproc.Build(t, ".")
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("Europe/BerlinTZif")) {
		t.Error("the worker binary does not embed the zone database (time/tzdata)")
	}
	wd := workerproc.ReadOnly(t)
	base := []string{"HOME=/nonexistent", "WEIR_HTTP_ADDR=127.0.0.1:0", "WEIR_SUMMARY=off", "WEIR_SINKS_FILE_DIR=",
		"WEIR_SINKS_S3_BUCKET=weir-out", "WEIR_AWS_REGION=us-east-1"}
	if code, out := workerproc.Run(t, bin, wd, append(base, "WEIR_ANOMALY_TIME_ZONE=Europe/Berlin"), "-check"); code != 0 {
		t.Errorf("-check with anomaly.time_zone Europe/Berlin: exit %d, want 0:\n%s", code, out)
	}
	code, out := workerproc.Run(t, bin, wd, append(base, "WEIR_ANOMALY_TIME_ZONE=Europe/Berlinn"), "-check")
	if code != 2 || !strings.Contains(out, `anomaly.time_zone: "Europe/Berlinn" is not a zone`) {
		t.Errorf("-check with anomaly.time_zone Europe/Berlinn: exit %d, want 2 naming the field:\n%s", code, out)
	}
}
