// Package kinesalite runs a real kinesalite server (https://github.com/mhart/kinesalite, from
// the npm registry) for tests: one process per test, on a loopback port it binds itself, stopped when the
// test ends. Unlike moto, kinesalite reshards correctly (children receive the writes, closed
// parents end with a nil NextShardIterator), which the Kinesis source's reshard tests need.
//
// The package is installed with npm on first use into a cache directory (WEIR_NPM_CACHE, else
// the user cache directory), under a lock so parallel test processes install it once. Without
// node and npm the test fails with instructions: it never skips silently.
package kinesalite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/weirstream/weir/internal/testproc"
)

// startTimeout bounds how long kinesalite may take to listen and answer. It is a bound on a
// failure's latency, not a performance check: on a loaded two-core CI machine, with several test
// packages starting servers at once, a Python or Node start-up took more than 30 s (flake116,
// load average 14), and the test failed before it began.
const startTimeout = 90 * time.Second

// Version is the kinesalite release the tests run.
const Version = "3.3.3"

// Install says what a machine without node needs.
const Install = `kinesalite needs node and npm: install them with  apt-get install -y nodejs npm  ` +
	`(or run .ci/run, which does), then the tests install kinesalite from the npm registry themselves`

// Server is a running kinesalite.
type Server struct {
	*testproc.Process
}

// Start installs kinesalite if needed, starts it on a port it binds itself and stops it when the test
// ends. Streams stay in CREATING/UPDATING for 50ms (kinesalite's default is 500ms).
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := StartProcess()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.StopAfter(t) })
	return s
}

// StartProcess starts kinesalite as Start does, for a harness that runs outside a test (the
// chaos command); the caller stops it.
func StartProcess() (*Server, error) {
	cli, err := ensureInstalled()
	if err != nil {
		return nil, fmt.Errorf("kinesalite: %w", err)
	}
	return start(cli)
}

// Dir is where kinesalite is installed: WEIR_NPM_CACHE, else <user cache>/weir-npm.
func Dir() (string, error) {
	if d := os.Getenv("WEIR_NPM_CACHE"); d != "" {
		return d, nil
	}
	c, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory for npm packages (set WEIR_NPM_CACHE): %w", err)
	}
	return filepath.Join(c, "weir-npm"), nil
}

var installMu sync.Mutex // within one process; the file lock covers other processes

func ensureInstalled() (string, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return "", errors.New(Install)
	}
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	pkg := filepath.Join(dir, "node_modules", "kinesalite")
	installMu.Lock()
	defer installMu.Unlock()
	if installed(dir) {
		return node + "\x00" + pkg, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing releases it anyway
	if !installed(dir) {
		npm, err := exec.LookPath("npm")
		if err != nil {
			return "", errors.New(Install)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, npm, "install", "--prefix", dir, "--no-audit", "--no-fund",
			"--loglevel=error", "kinesalite@"+Version)
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("npm install kinesalite@%s into %s: %w\n%s", Version, dir, err, out)
		}
		if !installed(dir) {
			return "", fmt.Errorf("npm install kinesalite@%s into %s left no %s", Version, dir, pkg)
		}
	}
	return node + "\x00" + pkg, nil
}

func installed(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", "kinesalite", "package.json"))
	return err == nil && bytes.Contains(b, []byte(`"version": "`+Version+`"`))
}

// serve runs kinesalite's server (its package's main module, as its cli.js does) on a port
// it binds itself, announced as testproc expects. The package's path is the script's first
// argument.
//
// kinesalite rethrows any error on an incoming request (index.js: req.on('error', throw)), so a
// client that goes away mid-request — a worker SIGTERMed while a call is in flight, which
// TestSIGTERMDuringStartKinesis does on purpose — kills the server, and every later test on it
// fails with "cannot reach the stream". Kinesis does not go down when a client hangs up: such an
// error (ECONNRESET, "aborted") is logged and the server keeps serving; any other uncaught
// error still ends it, as before.
const serve = `
process.on("uncaughtException", (err) => {
  if (err && (err.code === "ECONNRESET" || err.message === "aborted")) {
    console.error("kinesalite: a client went away mid-request (" + (err.code || err.message) + "); still serving")
    return
  }
  console.error(err)
  process.exit(1)
})
const s = require(process.argv[1])({createStreamMs: 50, deleteStreamMs: 50, updateStreamMs: 50, shardLimit: 100})
s.listen(0, "127.0.0.1", () => console.log("` + testproc.ListeningLine + `" + s.address().port))
`

func start(nodePkg string) (*Server, error) {
	node, pkg, _ := strings.Cut(nodePkg, "\x00")
	p, err := testproc.Start("kinesalite", []string{node, "-e", serve, pkg}, ready, startTimeout)
	if err != nil {
		return nil, fmt.Errorf("kinesalite: %w", err)
	}
	return &Server{p}, nil
}

// ready is true at any HTTP answer (an unsigned request is refused, which proves it serves).
func ready(ctx context.Context, endpoint string) bool {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return true
}
