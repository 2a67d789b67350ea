// Package deploy holds no code: it is the home of the Dockerfile, the CloudFormation templates
// and the deploy guide (README.md). It exists as a package so that `go test ./...` runs its
// tests, which lint every template with cfn-lint and check the invariants the worker relies on
// (metric names, IAM scope, stop timeout) against the Go constants, and that CI's test command
// (`make test`) runs every test, the ones the race detector skips included.
package deploy
