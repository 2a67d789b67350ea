package moto

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/weirstream/weir/internal/testproc"
)

// launcher serves moto's own WSGI application (what moto_server runs), handling DynamoDB
// requests and S3 writes one at a time.
//
// Why: moto_server is threaded and moto's backends take no lock, so a conditional write is a
// check followed by a separate write. DynamoDB (moto 5.2.1 update_item: get_item, evaluate the
// condition, then apply the update): two concurrent UpdateItem calls with
// "leaseCounter = :cur" could both pass the check, and two workers then both held the same
// Kinesis lease (about one run in five of TestReshardWhileProducingKeepsPerKeyOrder under
// CPU load). S3 (moto 5.2.1 put_object: get_object for If-Match / If-None-Match, then
// put_object): two PUTs with If-None-Match: * could both create the key, and two aggregators
// then both claimed one window's publication. DynamoDB applies each write to an item
// atomically, S3 each conditional write to a key, and so must the server the tests trust.
//
// Every S3 write is serialised, not only the conditional ones: the condition reads the key's
// current version, and an unconditional PUT or DELETE of that key landing between the check and
// the write would be lost under a write that S3 would have refused. An S3 request is known by
// its signature's credential scope (moto answers an unsigned conditional write with 403
// anyway); a write that carries If-Match or If-None-Match is serialised whatever it is. The
// request body is read before taking the lock and the response sent after releasing it, so a
// slow client holds up nobody. Reads and the other services are served exactly as moto_server
// serves them, concurrently.
const launcher = `
import io, os, threading
from werkzeug.serving import make_server
from werkzeug.wsgi import get_input_stream
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app


app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()

def serialised(environ):
    if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
        return True
    if environ.get("REQUEST_METHOD") in ("GET", "HEAD", "OPTIONS"):
        return False
    return ("HTTP_IF_MATCH" in environ or "HTTP_IF_NONE_MATCH" in environ
            or "/s3/aws4_request" in environ.get("HTTP_AUTHORIZATION", ""))

def atomic(environ, start_response):
    if not serialised(environ):
        return app(environ, start_response)
    body = get_input_stream(environ).read()
    environ["wsgi.input"] = io.BytesIO(body)
    environ["wsgi.input_terminated"] = True
    with lock:
        out = app(environ, start_response)
        try:
            data = b"".join(out)
        finally:
            if hasattr(out, "close"):
                out.close()
    return [data]

srv = make_server("127.0.0.1", 0, atomic, threaded=True)
os.environ["MOTO_PORT"] = str(srv.port)  # as moto_server does: moto builds URLs with it
print("` + testproc.ListeningLine + `%d" % srv.port, flush=True)
srv.serve_forever()
`

const findMoto = `import importlib.util as u, sys; sys.exit(u.find_spec("moto") is None)`

// python finds an interpreter that can import moto: python3 or python on PATH, or the one
// moto_server was installed with (its #! line; pipx and virtualenv installs).
func python() (string, bool) {
	candidates := []string{"python3", "python"}
	if p, err := exec.LookPath("moto_server"); err == nil {
		if py := shebang(p); py != "" {
			candidates = append(candidates, py)
		}
	}
	for _, c := range candidates {
		p, err := exec.LookPath(c)
		if err != nil {
			continue
		}
		// find_spec looks moto up without importing it: importing it takes half a second, and
		// every Start would pay it once more (the launcher imports it anyway).
		if exec.Command(p, "-c", findMoto).Run() == nil {
			return p, true
		}
	}
	return "", false
}

// shebang returns the Python interpreter a script's #! line names, or "".
func shebang(script string) string {
	f, err := os.Open(script)
	if err != nil {
		return ""
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	fields := strings.Fields(strings.TrimPrefix(line, "#!"))
	if !strings.HasPrefix(line, "#!") || len(fields) == 0 {
		return ""
	}
	if filepath.Base(fields[0]) == "env" && len(fields) > 1 {
		fields = fields[1:]
	}
	if !strings.HasPrefix(filepath.Base(fields[0]), "python") {
		return "" // e.g. a pyenv shim (a shell script): python3 on PATH is the same install
	}
	return fields[0]
}
