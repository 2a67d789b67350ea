package awsconf

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Config is the `aws:` section of weir's configuration, shared by every AWS client (CloudWatch,
// S3, Kinesis, DynamoDB). Credentials are never part of it: they come from the SDK's default
// chain (environment, shared files and profile, ECS task role, EC2 instance role).
//
// Where a client sends its requests, most specific first: aws.endpoints.<service>; the SDK's
// AWS_ENDPOINT_URL_<SERVICE> variable (AWS_ENDPOINT_URL_S3, _KINESIS, _DYNAMODB,
// _CLOUDWATCH); aws.endpoint; the SDK's AWS_ENDPOINT_URL; the service's AWS endpoint.
type Config struct {
	// Region, e.g. "eu-west-1". Default: the SDK's (AWS_REGION, the profile; on ECS the task's
	// region is in AWS_REGION); "us-east-1" when every service in use has an endpoint set here
	// (a local server) and nothing else names one.
	Region string `yaml:"region"`
	// Profile selects a shared-config profile. Default: none (AWS_PROFILE still applies).
	Profile string `yaml:"profile"`
	// Endpoint overrides every service's endpoint, for a local server such as moto:
	// "http://127.0.0.1:5000". Default: none (the real AWS endpoints).
	Endpoint string `yaml:"endpoint"`
	// Endpoints override one service's endpoint each, over Endpoint: for local servers that
	// each serve part of the services (the stream on kinesalite, the lease table, bucket and
	// metrics on moto), or a VPC interface endpoint. Default: none.
	Endpoints Endpoints `yaml:"endpoints"`
	// S3PathStyle addresses buckets as endpoint/bucket/key instead of bucket.endpoint/key.
	// Default: true when S3's endpoint is set here (local servers do not resolve bucket
	// subdomains), false otherwise.
	S3PathStyle *bool `yaml:"s3_path_style"`
	// LocalCredentials uses fixed dummy credentials instead of the default chain, for a local
	// server that accepts any. Only allowed when every service in use has an endpoint set here,
	// so they can never reach AWS. Default false.
	LocalCredentials bool `yaml:"local_credentials"`
}

// Endpoints are the per-service endpoint overrides (`aws.endpoints:`).
type Endpoints struct {
	S3         string `yaml:"s3"`
	Kinesis    string `yaml:"kinesis"`
	DynamoDB   string `yaml:"dynamodb"`
	CloudWatch string `yaml:"cloudwatch"`
}

// Service names an AWS service weir calls.
type Service string

// The services, spelled as in aws.endpoints.
const (
	S3         Service = "s3"
	Kinesis    Service = "kinesis"
	DynamoDB   Service = "dynamodb"
	CloudWatch Service = "cloudwatch"
)

// Services are all of them.
var Services = []Service{S3, Kinesis, DynamoDB, CloudWatch}

// envSuffix is the service's suffix in the SDK's AWS_ENDPOINT_URL_<SERVICE> variables.
func (s Service) envSuffix() string { return strings.ToUpper(string(s)) }

// own returns the endpoint set for s in Endpoints, "" if none.
func (e Endpoints) own(s Service) string {
	switch s {
	case S3:
		return e.S3
	case Kinesis:
		return e.Kinesis
	case DynamoDB:
		return e.DynamoDB
	case CloudWatch:
		return e.CloudWatch
	}
	return ""
}

// Validate reports invalid fields by their configuration path. use lists the services the
// configuration calls (none given: all of them); local_credentials needs an endpoint for each.
func (c *Config) Validate(use ...Service) error {
	if len(use) == 0 {
		use = Services
	}
	var errs []error
	check := func(field, v string) {
		if v == "" {
			return
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s: must be an http(s) URL such as http://127.0.0.1:5000, got %q", field, v))
		}
	}
	check("aws.endpoint", c.Endpoint)
	for _, s := range Services {
		check("aws.endpoints."+string(s), c.Endpoints.own(s))
	}
	if c.LocalCredentials {
		var missing []string
		for _, s := range use {
			if c.EndpointOf(s) == "" {
				missing = append(missing, "aws.endpoints."+string(s))
			}
		}
		if len(missing) > 0 {
			errs = append(errs, fmt.Errorf("aws.local_credentials: only allowed when every service in use has a local endpoint: set aws.endpoint, or %s",
				strings.Join(missing, ", ")))
		}
	}
	return errors.Join(errs...)
}

// EndpointOf returns the endpoint configured for s (aws.endpoints.<s>, else aws.endpoint), ""
// for the SDK's default.
func (c *Config) EndpointOf(s Service) string {
	if e := c.Endpoints.own(s); e != "" {
		return e
	}
	return c.Endpoint
}

// BaseEndpoint is what a client of s sets as its Options.BaseEndpoint, applied after the SDK
// resolved its own (so it beats the SDK's variables): the per-service override, or nil to
// keep the SDK's resolution (which already holds aws.endpoint, see Load).
func (c *Config) BaseEndpoint(s Service) *string {
	if e := c.Endpoints.own(s); e != "" {
		return &e
	}
	return nil
}

// PathStyle reports whether S3 clients must use path-style addressing.
func (c *Config) PathStyle() bool {
	if c.S3PathStyle != nil {
		return *c.S3PathStyle
	}
	return c.EndpointOf(S3) != ""
}

// Overridden reports whether s is not reached at its AWS endpoint: an endpoint is set here or
// in the SDK's variables. Clients use it for local servers' protocol limits (moto parses
// CloudWatch's awsQuery, not its CBOR protocol; AWS itself takes both).
func (c *Config) Overridden(s Service) bool {
	return c.EndpointOf(s) != "" || os.Getenv("AWS_ENDPOINT_URL_"+s.envSuffix()) != "" || os.Getenv("AWS_ENDPOINT_URL") != ""
}

// Load builds the SDK configuration for the services in use (none given: all of them). The
// SDK's own retryer is turned off: weir retries with Retry.Do, so that one policy decides and
// every failed attempt is counted. The per-service endpoints are not in the result: each
// client applies its own (BaseEndpoint).
func (c *Config) Load(ctx context.Context, use ...Service) (aws.Config, error) {
	if len(use) == 0 {
		use = Services
	}
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
	}
	if c.Region != "" {
		opts = append(opts, config.WithRegion(c.Region))
	}
	if c.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(c.Profile))
	}
	if c.Endpoint != "" {
		opts = append(opts, config.WithBaseEndpoint(c.Endpoint))
	}
	if c.LocalCredentials {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("weir-local", "weir-local", "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("aws: load configuration: %w", err)
	}
	if cfg.Region == "" {
		for _, s := range use {
			if c.EndpointOf(s) == "" {
				return aws.Config{}, errors.New("aws.region: not set and no region in the environment (AWS_REGION) or profile")
			}
		}
		cfg.Region = "us-east-1" // every service is local; they take any region
	}
	return cfg, nil
}
