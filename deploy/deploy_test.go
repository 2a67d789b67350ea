package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
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
			for alarm, metric := range map[string]string{
				"BehindAlarm":               scaling.MetricBacklogSecondsPerTask,
				"ScalingSignalMissingAlarm": scaling.MetricDesiredTasks,
				"StalledPartitionsAlarm":    lag.MetricPartitionsStalled,
				"DeadLetterAlarm":           pipeline.MetricDeadLetters,
				"SinkErrorAlarm":            pipeline.MetricSinkWriteErrors,
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
			if mode := get(container, "LogConfiguration", "Options", "mode"); mode != nil && mode != "blocking" {
				t.Errorf("awslogs mode %v can drop EMF lines; want blocking", mode)
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
	table := get(tpl, "Resources", "LeaseTable").(map[string]any)
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
}
