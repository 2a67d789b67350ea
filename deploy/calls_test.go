package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The static half of the check that the permission table covers the code (the other half is
// the end-to-end run in run_test.go, which records what the worker really sends). Statically,
// every path counts, including the ones no test reaches (a multipart upload that fails, a lease
// table that must be created, PutMetricData in API mode); at run time, the resources and
// condition keys are the real ones. Neither alone is enough: a recorded run cannot reach every
// branch, and a source scan cannot see what a library sends on the worker's behalf (Kafka
// requests, the ECS agent's endpoint).
//
// An AWS SDK v2 operation is a method taking a *<service>.<Operation>Input, so any call in the
// worker's own packages whose signature has such a parameter is a call of that operation,
// whether made on the client, through a narrow interface, a paginator or a waiter. The worker's
// packages are type-checked from source against export data from `go list -export` (the
// standard library's importer: no dependency on golang.org/x/tools).

const (
	module       = "github.com/weirstream/weir"
	sdkServices  = "github.com/aws/aws-sdk-go-v2/service/"
	mskIAMSigner = "github.com/twmb/franz-go/pkg/sasl/aws"
)

// sdkFeaturesThatCall are SDK packages that make API calls of their own (the S3 transfer
// manager, the DynamoDB helpers): the worker may not link them unless this check learns to
// see their calls.
var sdkFeaturesThatCall = []string{
	"github.com/aws/aws-sdk-go-v2/feature/s3/",
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/",
}

type listedPackage struct {
	ImportPath string
	Dir        string
	Export     string
	GoFiles    []string
	Module     *struct{ Path string }
}

// workerCalls returns each AWS call the worker binary's packages can make, with where.
func workerCalls(t *testing.T) map[string][]string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go is not on PATH: %v", err)
	}
	cmd := exec.Command(goBin, "list", "-deps", "-export", "-json=ImportPath,Dir,Export,GoFiles,Module", "./cmd/worker")
	cmd.Dir = ".."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	exports := map[string]string{}
	var own []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		exports[p.ImportPath] = p.Export
		for _, f := range sdkFeaturesThatCall {
			if strings.HasPrefix(p.ImportPath, f) {
				t.Errorf("the worker links %s, which makes AWS calls this check cannot see: teach calls_test.go its operations and list them in PERMISSIONS.md", p.ImportPath)
			}
		}
		if p.Module != nil && p.Module.Path == module {
			own = append(own, p)
		}
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		f, ok := exports[path]
		if !ok || f == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(f)
	})
	calls := map[string][]string{}
	root := mustAbs(t, "..")
	for _, p := range own {
		var files []*ast.File
		for _, name := range p.GoFiles {
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}, Uses: map[*ast.Ident]types.Object{}}
		conf := types.Config{Importer: imp}
		if _, err := conf.Check(p.ImportPath, fset, files, info); err != nil {
			t.Fatalf("type-checking %s: %v", p.ImportPath, err)
		}
		for _, f := range files {
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				tv, ok := info.Types[call.Fun]
				if !ok || tv.IsType() {
					return true
				}
				where := fset.Position(call.Pos()).String()
				if rel, err := filepath.Rel(root, where); err == nil {
					where = rel
				}
				if op := sdkOperation(tv.Type); op != "" {
					calls[op] = append(calls[op], where)
				}
				if fn := calledFunc(info, call.Fun); fn != nil && fn.Pkg() != nil && fn.Pkg().Path() == mskIAMSigner {
					calls["kafka:SASLAuthenticate"] = append(calls["kafka:SASLAuthenticate"], where)
				}
				return true
			})
		}
	}
	if len(own) < 10 {
		t.Fatalf("found only %d of the worker's packages; the go list query is wrong", len(own))
	}
	return calls
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// sdkOperation returns "service:Operation" when sig (a function type) takes an SDK operation's
// input, "" otherwise.
func sdkOperation(typ types.Type) string {
	sig, ok := typ.Underlying().(*types.Signature)
	if !ok {
		return ""
	}
	for i := range sig.Params().Len() {
		ptr, ok := sig.Params().At(i).Type().(*types.Pointer)
		if !ok {
			continue
		}
		named, ok := ptr.Elem().(*types.Named)
		if !ok || named.Obj().Pkg() == nil {
			continue
		}
		svc, isSDK := strings.CutPrefix(named.Obj().Pkg().Path(), sdkServices)
		op, isInput := strings.CutSuffix(named.Obj().Name(), "Input")
		if isSDK && isInput && !strings.Contains(svc, "/") && op != "" {
			return svc + ":" + op
		}
	}
	return ""
}

func calledFunc(info *types.Info, fun ast.Expr) *types.Func {
	var id *ast.Ident
	switch f := fun.(type) {
	case *ast.Ident:
		id = f
	case *ast.SelectorExpr:
		id = f.Sel
	default:
		return nil
	}
	fn, _ := info.Uses[id].(*types.Func)
	return fn
}

// TestPermissionsCoverTheCode: every AWS SDK operation (and the MSK IAM signer) the worker's
// code can call is a row of PERMISSIONS.md, and every SDK row is still called somewhere.
func TestPermissionsCoverTheCode(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks the worker's packages (-short)")
	}
	calls := workerCalls(t)
	listed := map[string]bool{}
	for _, p := range loadPermissions(t) {
		listed[p.call] = true
	}
	for _, op := range slices.Sorted(mapKeys(calls)) {
		if !listed[op] {
			t.Errorf("the worker calls %s (%s), which PERMISSIONS.md does not list", op, strings.Join(calls[op], ", "))
		}
	}
	for _, call := range slices.Sorted(mapKeys(listed)) {
		svc, _, _ := strings.Cut(call, ":")
		if (svc == "s3" || svc == "cloudwatch" || svc == "kinesis" || svc == "dynamodb" || call == "kafka:SASLAuthenticate") && calls[call] == nil {
			t.Errorf("PERMISSIONS.md lists %s, which no code of the worker calls any more", call)
		}
	}
	if len(calls) < 5 {
		t.Errorf("found only %d AWS operations in the code: %v; the check is broken", len(calls), calls)
	}
	t.Logf("AWS calls in the worker's code: %v", slices.Sorted(mapKeys(calls)))
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
