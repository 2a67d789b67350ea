package layout

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"io"
	"time"

	"github.com/weirstream/weir/pipeline"
)

// ReportGroup is the reports of one Kind and Name in one window: the contents of one object.
type ReportGroup struct {
	Kind, Name string
	Reports    []pipeline.Report
}

// GroupReports splits an output's reports into objects by (Kind, Name), in first-seen order.
func GroupReports(out *pipeline.Output) []ReportGroup {
	var groups []ReportGroup
	index := map[[2]string]int{}
	for _, r := range out.Reports {
		k := [2]string{r.Kind, r.Name}
		i, ok := index[k]
		if !ok {
			i = len(groups)
			index[k] = i
			groups = append(groups, ReportGroup{Kind: r.Kind, Name: r.Name})
		}
		groups[i].Reports = append(groups[i].Reports, r)
	}
	return groups
}

// WriteReports writes each report's Body as one JSON object per line (gzip-compressed when
// gz), the format of report objects.
func WriteReports(w io.Writer, reports []pipeline.Report, gz bool) error {
	return writeLines(w, gz, gzip.DefaultCompression, func(dst io.Writer) error {
		enc := json.NewEncoder(dst)
		enc.SetEscapeHTML(false)
		for _, r := range reports {
			if err := enc.Encode(r.Body); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeadLetterLine is the JSON form of one dead letter. Key and Value are base64 (encoding/json
// encodes []byte that way), because bad input is, by definition, not known to be text.
type DeadLetterLine struct {
	Stream    string    `json:"stream"`
	Partition string    `json:"partition"`
	Position  string    `json:"position"`
	Time      time.Time `json:"time"`
	Reason    string    `json:"reason"`
	Detail    string    `json:"detail"`
	Key       []byte    `json:"key,omitempty"`
	Value     []byte    `json:"value"`
}

// WriteDeadLetters writes letters as JSON lines of DeadLetterLine (gzip-compressed when gz).
// Dead letters are compressed at gzip's best speed: when a stream turns bad they are its whole
// volume, and the default level costs several times the CPU for slightly smaller objects.
func WriteDeadLetters(w io.Writer, letters []pipeline.DeadLetter, gz bool) error {
	return writeLines(w, gz, gzip.BestSpeed, func(dst io.Writer) error {
		var line []byte
		var enc lineEncoder
		for i := range letters {
			var err error
			if line, err = enc.append(line[:0], &letters[i]); err != nil {
				return err
			}
			if _, err := dst.Write(line); err != nil {
				return err
			}
		}
		return nil
	})
}

func writeLines(w io.Writer, gz bool, level int, fn func(io.Writer) error) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var zw *gzip.Writer
	var dst io.Writer = bw
	if gz {
		zw, _ = gzip.NewWriterLevel(bw, level) // (the levels given are valid)
		dst = zw
	}
	if err := fn(dst); err != nil {
		return err
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return err
		}
	}
	return bw.Flush()
}
