package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

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

func TestTemplateInvariants(t *testing.T) {
	var resourceSets [][]string
	for _, path := range templates(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			tpl := load(t, path)
			res := get(tpl, "Resources").(map[string]any)
			params := get(tpl, "Parameters").(map[string]any)
			ids := make([]string, 0, len(res))
			for id := range res {
				ids = append(ids, id)
			}
			slices.Sort(ids)
			resourceSets = append(resourceSets, ids)

			// The scaling policy must read the metric the worker publishes, by the same name.
			queries := get(res, "ScalingPolicy", "Properties", "TargetTrackingScalingPolicyConfiguration",
				"CustomizedMetricSpecification", "Metrics").([]any)
			if name := get(queries[0], "MetricStat", "Metric", "MetricName"); name != scaling.MetricDesiredTasks {
				t.Errorf("scaling policy tracks %v, worker publishes %s", name, scaling.MetricDesiredTasks)
			}
			if name := get(res, "BehindAlarm", "Properties", "MetricName"); name != scaling.MetricBacklogSecondsPerTask {
				t.Errorf("behind alarm reads %v, worker publishes %s", name, scaling.MetricBacklogSecondsPerTask)
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

			// Least privilege: "*" only where the action has no resource-level permission, and
			// PutMetricData only with the namespace condition.
			for _, role := range []string{"TaskRole", "ExecutionRole"} {
				for _, pol := range get(res, role, "Properties", "Policies").([]any) {
					for _, st := range get(pol, "PolicyDocument", "Statement").([]any) {
						if _, isIf := get(st, "!If").([]any); isIf {
							st = get(st, "!If").([]any)[1]
						}
						if get(st, "Resource") != "*" {
							continue
						}
						switch action := get(st, "Action"); action {
						case "ecr:GetAuthorizationToken":
						case "cloudwatch:PutMetricData":
							if get(st, "Condition", "StringEquals", "cloudwatch:namespace", "!Ref") != "MetricNamespace" {
								t.Errorf("%s: PutMetricData on * without the namespace condition", role)
							}
						default:
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
