package pipeline_test

import (
	"os/exec"
	"strings"
	"testing"
)

// Records flow from the sources through the pipeline to the sinks, so the pipeline depends on
// neither end, nor on what assembles or measures it: a package under pipeline/ imports, of
// weir's own packages, only others under pipeline/ and internal/ (directly or through any
// other module). Test files are free to use more (a benchmark's data generator).
func TestPipelineImportsOnlyThePipeline(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{"\t"}}{{join .Deps " "}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const module = "github.com/weirstream/weir/"
	pkgs := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, "\t")
		if !strings.HasPrefix(pkg, module+"pipeline") {
			t.Fatalf("go list ./... in pipeline/ listed %s", pkg)
		}
		pkgs++
		for _, dep := range strings.Fields(deps) {
			own, ok := strings.CutPrefix(dep, module)
			if !ok || own == "pipeline" || strings.HasPrefix(own, "pipeline/") || strings.HasPrefix(own, "internal/") {
				continue
			}
			t.Errorf("%s imports %s: the pipeline must not depend on %s/", pkg, dep, strings.Split(own, "/")[0])
		}
	}
	if pkgs < 2 {
		t.Fatalf("go list found %d packages under pipeline/", pkgs)
	}
}
