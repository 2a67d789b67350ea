package worker

import (
	"context"
	"fmt"
	"net"

	"github.com/weirstream/weir/pipeline"
)

// Check does everything Build does short of network I/O, and leaves nothing behind: it is
// `worker -check`. It runs Build's own steps (build with offline set), so what it accepts the
// start accepts, except for what only the network can tell:
//
//   - checked as at the start: every configuration field; the rule files (a JSON error with
//     its line and column); the payload format and window time field; the output directory
//     (sinks.file.dir, where the partials go too) and the EMF file, which must be writable
//     directories or creatable (probed with a file that is removed again, nothing created);
//     the Kafka TLS and SASL settings (certificate files read); the AWS configuration (region,
//     profile, endpoints); the S3 and CloudWatch sink settings; the HTTP address's syntax;
//   - not checked, because it needs the network or would start something: that the brokers,
//     the stream, the lease table and the bucket answer and allow what the worker does (the
//     start checks those within seconds: the S3 sink writes a probe object, the Kinesis
//     source describes the stream); whether the HTTP port is free; ECS task metadata. The
//     embedded demo broker is not started.
//
// deps is as for Build (its Registry receives the metrics of the parts built and is then
// thrown away with them).
func Check(ctx context.Context, cfg Config, deps Deps) error {
	a, err := build(ctx, cfg, deps, true)
	if err != nil {
		return err
	}
	a.abort()
	return nil
}

// noCommits takes the commit points of the pipeline Check builds without a Kafka source. The
// pipeline is built only to run its own checks (the window time field, operator names); it
// never runs, so nothing is ever committed through it.
type noCommits struct{}

func (noCommits) Commit(pipeline.Partition, pipeline.Checkpoint) {}

// checkAddr checks a listen address's syntax (host:port, a port number or service name)
// without binding it: the port may be in use by the very worker being checked.
func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return fmt.Errorf("port %q: %w", port, err)
	}
	return nil
}
