package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/weirstream/weir/lag"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/scaling"
)

// TestCFNLint runs cfn-lint on every template. cfn-lint ships in the machine image and in CI;
// a missing linter is a failure, never a skip, or an unlinted template would pass.
func TestCFNLint(t *testing.T) {
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Fatalf("cfn-lint is not installed (pip install cfn-lint): the CloudFormation templates cannot be checked: %v", err)
	}
	files := templates(t)
	out, err := exec.Command(bin, files...).CombinedOutput()
	if err != nil {
		t.Fatalf("cfn-lint %s: %v\n%s", strings.Join(files, " "), err, out)
	}
}

// sourceResources are the resources only one source's template has.
var sourceResources = []string{"LeaseTable"}

func TestTemplateInvariants(t *testing.T) {
	var resourceSets [][]string
	for _, path := range templates(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			tpl := load(t, path)
			res := get(tpl, "Resources").(map[string]any)
			params := get(tpl, "Parameters").(map[string]any)
			var ids []string
			for _, id := range resourceIDs(tpl) {
				if !slices.Contains(sourceResources, id) {
					ids = append(ids, id)
				}
			}
			resourceSets = append(resourceSets, ids)

			// The scaling policy must read the metric the worker publishes, by the same name.
			queries := get(res, "ScalingPolicy", "Properties", "TargetTrackingScalingPolicyConfiguration",
				"CustomizedMetricSpecification", "Metrics").([]any)
			if name := get(queries[0], "MetricStat", "Metric", "MetricName"); name != scaling.MetricDesiredTasks {
				t.Errorf("scaling policy tracks %v, worker publishes %s", name, scaling.MetricDesiredTasks)
			}
			// DesiredTasks is the aggregator's one series per service (issue 18): a Maximum
			// would be a per-task combination again, and a TaskId would select nothing.
			if stat := get(queries[0], "MetricStat", "Stat"); stat != "Average" {
				t.Errorf("scaling policy reads DesiredTasks as %v, want Average of the fleet's one series", stat)
			}
			if dims := listOf(get(queries[0], "MetricStat", "Metric", "Dimensions")); len(dims) != 1 || get(dims[0], "Name") != "ServiceName" {
				t.Errorf("scaling policy reads DesiredTasks with dimensions %v, want ServiceName only", dims)
			}
			if stat := get(res, "BehindAlarm", "Properties", "Statistic"); stat == "Maximum" {
				t.Errorf("BehindAlarm takes the Maximum of the fleet's one series: %v", stat)
			}
			for alarm, metric := range map[string]string{
				"BehindAlarm":               scaling.MetricBacklogSecondsPerTask,
				"ScalingSignalMissingAlarm": scaling.MetricDesiredTasks,
				"StalledPartitionsAlarm":    lag.MetricPartitionsStalled,
				"DeadLetterAlarm":           pipeline.MetricDeadLetters,
				"SinkErrorAlarm":            pipeline.MetricSinkWriteErrors,
				"CommitErrorAlarm":          pipeline.MetricCommitErrors,
			} {
				if name := get(res, alarm, "Properties", "MetricName"); name != metric {
					t.Errorf("%s reads %v, worker publishes %s", alarm, name, metric)
				}
			}
			// Only the missing-signal alarm, whose whole point is missing data, and the Kinesis
			// source alarm (no reader, no data) count missing data as breaching; every other
			// alarm's metric is published with zeros, and missing data is the missing-signal
			// alarm's to report.
			if m := get(res, "ScalingSignalMissingAlarm", "Properties", "TreatMissingData"); m != "breaching" {
				t.Errorf("ScalingSignalMissingAlarm treats missing data as %v, want breaching", m)
			}

			// The source's own lag alarm is the one that still fires when the whole fleet is
			// down (no worker publishes anything then); the dashboard is where the runbook starts.
			sourceMetric := map[string]string{"weir-msk.yaml": "AWS/Kafka MaxOffsetLag",
				"weir-kinesis.yaml": "AWS/Kinesis GetRecords.IteratorAgeMilliseconds"}[filepath.Base(path)]
			var sourceMetrics []string
			if props, ok := get(res, "SourceLagAlarm", "Properties").(map[string]any); ok {
				if name, ok := props["MetricName"].(string); ok {
					sourceMetrics = append(sourceMetrics, props["Namespace"].(string)+" "+name)
				}
				for _, q := range listOf(props["Metrics"]) {
					if m := get(q, "MetricStat", "Metric"); m != nil {
						sourceMetrics = append(sourceMetrics, get(m, "Namespace").(string)+" "+get(m, "MetricName").(string))
					}
				}
			}
			if !slices.Contains(sourceMetrics, sourceMetric) {
				t.Errorf("SourceLagAlarm watches %v, want %s", sourceMetrics, sourceMetric)
			}
			if typ := get(res, "Dashboard", "Type"); typ != "AWS::CloudWatch::Dashboard" {
				t.Errorf("no Dashboard resource (found %v)", typ)
			}

			// Fargate's stop timeout is at most 120 s, and the drain must finish before SIGKILL.
			stopMax, _ := strconv.Atoi(get(params, "StopTimeout", "MaxValue").(string))
			stopDef, _ := strconv.Atoi(get(params, "StopTimeout", "Default").(string))
			drainDef, _ := strconv.Atoi(get(params, "DrainTimeoutSeconds", "Default").(string))
			if stopMax > 120 || drainDef >= stopDef {
				t.Errorf("StopTimeout max %d (≤120), default %d must exceed drain default %d", stopMax, stopDef, drainDef)
			}
			container := get(res, "TaskDefinition", "Properties", "ContainerDefinitions").([]any)[0]
			if get(container, "StopTimeout", "!Ref") != "StopTimeout" {
				t.Errorf("container StopTimeout is %v", get(container, "StopTimeout"))
			}
			// Container-level memory is what puts a cgroup limit on the worker's process, from
			// which it sizes its in-flight budget and GOMEMLIMIT; task-level memory alone does not.
			if get(container, "Memory", "!Ref") != "Memory" {
				t.Errorf("container Memory is %v, want !Ref Memory", get(container, "Memory"))
			}
			// stdout carries the EMF lines (metrics, alarms' data, the scaling signal):
			// non-blocking mode drops lines when its buffer fills.
			// Said explicitly: ECS's default for awslogs has been non-blocking since June 2025.
			if mode := get(container, "LogConfiguration", "Options", "mode"); mode != "blocking" {
				t.Errorf("awslogs mode %v can drop EMF lines; want blocking, set explicitly", mode)
			}

			// "*" only where the action has no resource-level permission.
			for _, role := range []string{"TaskRole", "ExecutionRole"} {
				for _, pol := range get(res, role, "Properties", "Policies").([]any) {
					for _, st := range get(pol, "PolicyDocument", "Statement").([]any) {
						if _, isIf := get(st, "!If").([]any); isIf {
							st = get(st, "!If").([]any)[1]
						}
						if get(st, "Resource") != "*" {
							continue
						}
						if action := get(st, "Action"); action != "ecr:GetAuthorizationToken" {
							t.Errorf("%s: %v granted on *", role, action)
						}
					}
				}
			}
		})
	}
	if len(resourceSets) == 2 && !slices.Equal(resourceSets[0], resourceSets[1]) {
		t.Errorf("the templates no longer share one structure:\n%v\n%v", resourceSets[0], resourceSets[1])
	}
}

// The Kinesis template creates the lease table the worker expects, keeps it, and tells the
// worker not to create one.
func TestKinesisLeaseTable(t *testing.T) {
	tpl := load(t, filepath.Join("cloudformation", "weir-kinesis.yaml"))
	table, ok := get(tpl, "Resources", "LeaseTable").(map[string]any)
	if !ok {
		t.Fatal("the Kinesis template creates no LeaseTable, while the worker needs one and the task role cannot create it")
	}
	if table["DeletionPolicy"] != "Retain" || table["UpdateReplacePolicy"] != "Retain" {
		t.Errorf("LeaseTable DeletionPolicy %v, UpdateReplacePolicy %v: want Retain (it holds every checkpoint)", table["DeletionPolicy"], table["UpdateReplacePolicy"])
	}
	props := table["Properties"]
	if get(props, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled") != "true" {
		t.Error("LeaseTable without point-in-time recovery")
	}
	keys := get(props, "KeySchema").([]any)
	attrs := get(props, "AttributeDefinitions").([]any)
	if len(keys) != 1 || get(keys[0], "AttributeName") != "leaseKey" || get(keys[0], "KeyType") != "HASH" ||
		len(attrs) != 1 || get(attrs[0], "AttributeName") != "leaseKey" || get(attrs[0], "AttributeType") != "S" {
		t.Errorf("LeaseTable key schema %v %v: the worker's leases are keyed by leaseKey, a string", keys, attrs)
	}
	st := newStack(t, tpl, testParameters["weir-kinesis.yaml"])
	if v := st.environment(t)["WEIR_SOURCE_KINESIS_CREATE_TABLE"]; v != "false" {
		t.Errorf("WEIR_SOURCE_KINESIS_CREATE_TABLE = %q: the template creates the table and grants no CreateTable", v)
	}
}

func TestDockerfile(t *testing.T) {
	raw, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(raw)
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags "-s -w"`, "./cmd/worker",
		"FROM gcr.io/distroless/static", "USER nonroot", `CMD ["/worker", "healthcheck"]`} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	if strings.Count(df, "\nFROM ") < 2 {
		t.Error("Dockerfile is not multi-stage")
	}
	// Every image the build pulls is pinned by digest: the syntax frontend and each base.
	pinned := regexp.MustCompile(`@sha256:[0-9a-f]{64}(\s|$)`)
	for _, line := range strings.Split(df, "\n") {
		if strings.HasPrefix(line, "FROM ") || strings.HasPrefix(line, "# syntax=") {
			if !pinned.MatchString(line) {
				t.Errorf("not pinned by digest: %s", line)
			}
		}
	}
}

// The build context leaves out what the image does not need, and nothing it does: every file
// of every package the worker is built from, and go.mod and go.sum.
func TestDockerignore(t *testing.T) {
	raw, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	var patterns []*regexp.Regexp
	for _, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "!") {
			t.Fatalf(".dockerignore: exceptions (%s) are not understood by this test", line)
		}
		patterns = append(patterns, dockerignorePattern(line))
	}
	ignored := func(path string) bool {
		for _, p := range patterns {
			for d := path; d != "." && d != "/"; d = filepath.Dir(d) {
				if p.MatchString(d) {
					return true
				}
			}
		}
		return false
	}
	for _, must := range []string{".git", "out", "bin"} {
		if !ignored(must) {
			t.Errorf(".dockerignore does not leave out %s", must)
		}
	}
	out, err := exec.Command("go", "list", "-deps", "-f", `{{if .Module}}{{if eq .Module.Path "`+module+`"}}{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}}
{{end}}{{range .EmbedFiles}}{{$d}}/{{.}}
{{end}}{{end}}{{end}}`, "../cmd/worker").Output()
	if err != nil {
		t.Fatal(err)
	}
	root, _ := filepath.Abs("..")
	needed := []string{"go.mod", "go.sum"}
	for _, f := range strings.Fields(string(out)) {
		rel, _ := filepath.Rel(root, f)
		needed = append(needed, rel)
	}
	if len(needed) < 30 {
		t.Fatalf("only %d files needed by the build: the go list query is wrong", len(needed))
	}
	for _, f := range needed {
		if ignored(f) {
			t.Errorf(".dockerignore leaves out %s, which the image's build needs", f)
		}
	}
}

// dockerignorePattern turns a .dockerignore line into a regexp over slash-separated paths
// relative to the context: * and ? within a segment, ** across segments.
func dockerignorePattern(p string) *regexp.Regexp {
	p = strings.Trim(filepath.ToSlash(filepath.Clean(p)), "/")
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		switch {
		case strings.HasPrefix(p[i:], "**/"):
			b.WriteString("(.*/)?")
			i += 2
		case strings.HasPrefix(p[i:], "**"):
			b.WriteString(".*")
			i++
		case p[i] == '*':
			b.WriteString("[^/]*")
		case p[i] == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}
