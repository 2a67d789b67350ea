package awsconf

import (
	"context"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestValidateNamesTheField(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"endpoint: localhost:5000", "aws.endpoint:"},
		{"endpoint: ftp://x", "aws.endpoint:"},
		{"local_credentials: true", "aws.local_credentials:"},
		{"endpoints: {kinesis: 127.0.0.1:4567}", "aws.endpoints.kinesis: must be an http(s) URL"},
		{"endpoints: {dynamodb: http://}", "aws.endpoints.dynamodb: must be an http(s) URL"},
	} {
		var c Config
		if err := yaml.Unmarshal([]byte(tc.yaml), &c); err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want an error naming %q", tc.yaml, err, tc.want)
		}
	}
	ok := Config{Endpoint: "http://127.0.0.1:5000", LocalCredentials: true}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid local config refused: %v", err)
	}
}

func TestLocalEndpointConfig(t *testing.T) {
	// Isolate from the machine's AWS environment.
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	c := Config{Endpoint: "http://127.0.0.1:5000", LocalCredentials: true}
	cfg, err := c.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "us-east-1" || cfg.BaseEndpoint == nil || *cfg.BaseEndpoint != c.Endpoint {
		t.Errorf("region %q endpoint %v", cfg.Region, cfg.BaseEndpoint)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "weir-local" {
		t.Errorf("credentials %v, %v", creds.AccessKeyID, err)
	}
	if cfg.Retryer().MaxAttempts() != 1 {
		t.Errorf("SDK retryer makes %d attempts; weir retries itself", cfg.Retryer().MaxAttempts())
	}
	if !c.PathStyle() || !c.Overridden(S3) {
		t.Error("a local endpoint must default to path-style S3")
	}
	off := false
	c.S3PathStyle = &off
	if c.PathStyle() {
		t.Error("s3_path_style: false ignored")
	}
	if (&Config{}).PathStyle() {
		t.Error("path style without an endpoint")
	}
}

func TestRegionRequiredForAWS(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	if _, err := (&Config{}).Load(context.Background()); err == nil || !strings.Contains(err.Error(), "aws.region") {
		t.Errorf("got %v, want an error naming aws.region", err)
	}
	t.Setenv("AWS_REGION", "eu-west-1")
	cfg, err := (&Config{}).Load(context.Background())
	if err != nil || cfg.Region != "eu-west-1" {
		t.Errorf("region from environment: %q, %v", cfg.Region, err)
	}
}

// Per-service endpoints win over aws.endpoint for their service only; S3's decides path-style
// addressing; dummy credentials need a local endpoint for every service in use, and so does
// the us-east-1 fallback region.
func TestPerServiceEndpoints(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_CLOUDWATCH", "")
	c := Config{Endpoint: "http://moto:5000", Endpoints: Endpoints{Kinesis: "http://kinesalite:4567"}}
	for s, want := range map[Service]string{Kinesis: "http://kinesalite:4567", DynamoDB: "http://moto:5000", S3: "http://moto:5000"} {
		if got := c.EndpointOf(s); got != want {
			t.Errorf("EndpointOf(%s) = %q, want %q", s, got, want)
		}
	}
	if e := c.BaseEndpoint(Kinesis); e == nil || *e != "http://kinesalite:4567" {
		t.Errorf("BaseEndpoint(kinesis) = %v", e)
	}
	if e := c.BaseEndpoint(DynamoDB); e != nil {
		t.Errorf("BaseEndpoint(dynamodb) = %q: the global endpoint is the SDK's to apply (Load)", *e)
	}

	only := Config{Endpoints: Endpoints{Kinesis: "http://127.0.0.1:4567", DynamoDB: "http://127.0.0.1:5000"}, LocalCredentials: true}
	if err := only.Validate(Kinesis, DynamoDB); err != nil {
		t.Errorf("kinesis and dynamodb both local: %v", err)
	}
	err := only.Validate(Kinesis, DynamoDB, S3)
	if err == nil || !strings.Contains(err.Error(), "aws.local_credentials: only allowed when every service in use has a local endpoint: set aws.endpoint, or aws.endpoints.s3") {
		t.Errorf("S3 without an endpoint, dummy credentials: %v", err)
	}
	if only.PathStyle() || only.Overridden(S3) || only.Overridden(CloudWatch) {
		t.Error("S3 and CloudWatch have no endpoint: AWS's addressing and protocol")
	}
	if cfg, err := only.Load(context.Background(), Kinesis, DynamoDB); err != nil || cfg.Region != "us-east-1" {
		t.Errorf("every service in use local: region %q, %v; want the us-east-1 fallback", cfg.Region, err)
	}
	if _, err := only.Load(context.Background(), Kinesis, S3); err == nil || !strings.Contains(err.Error(), "aws.region") {
		t.Errorf("S3 on AWS without a region: %v, want aws.region refused", err)
	}
	s3Only := Config{Endpoints: Endpoints{S3: "http://127.0.0.1:5000"}}
	if !s3Only.PathStyle() {
		t.Error("aws.endpoints.s3 must default to path-style addressing")
	}
	// The SDK's own variables count as an override for the protocol choice (moto behind
	// AWS_ENDPOINT_URL_CLOUDWATCH parses awsQuery only).
	t.Setenv("AWS_ENDPOINT_URL_CLOUDWATCH", "http://127.0.0.1:5000")
	if !only.Overridden(CloudWatch) || only.Overridden(S3) {
		t.Error("AWS_ENDPOINT_URL_CLOUDWATCH overrides CloudWatch's endpoint, and only its")
	}
}
