package deploy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	saslplain "github.com/twmb/franz-go/pkg/sasl/plain"
)

// fakeMSK is a kfake cluster standing in for an MSK cluster with IAM access control, so the
// worker runs with the MSK template's exact Kafka settings (TLS, SASL mechanism AWS_MSK_IAM):
//
//   - TLS with a certificate from a CA the test writes to a file (the worker trusts it through
//     SSL_CERT_FILE, as it trusts Amazon's CA through the system pool on Fargate);
//   - AWS_MSK_IAM accepted by answering SASLHandshake and SASLAuthenticate, after checking the
//     signed payload names kafka-cluster:Connect and the test's access key;
//   - authorization by Kafka ACLs derived from the task role's kafka-cluster statements, by
//     the equivalence MSK documents (DescribeTopic = DESCRIBE topic, ReadData = READ topic,
//     DescribeGroup = DESCRIBE group, AlterGroup = READ group, DescribeCluster = DESCRIBE
//     cluster): kfake's authorizer then refuses any request the role would not allow;
//   - every request the worker sends recorded by API name.
//
// The test's own client (seeding the topic) authenticates as a PLAIN superuser and is not
// recorded.
type fakeMSK struct {
	cluster *kfake.Cluster
	caFile  string
	tlsCfg  *tls.Config // for the test's own client

	mu        sync.Mutex
	recording bool
	requests  map[string]int // API name -> count, while recording
	connects  []string       // the action named by each IAM authentication
	authErrs  []string
}

const (
	mskAdminUser = "weir-test-admin"
	mskAdminPass = "weir-test-admin-password"
)

func startFakeMSK(t *testing.T, dir, topic string, partitions int32, accessKey string, policy []statement) *fakeMSK {
	t.Helper()
	m := &fakeMSK{requests: map[string]int{}}
	serverTLS, caPEM := testCertificates(t)
	m.caFile = filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(m.caFile, caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	m.tlsCfg = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}

	acls := kafkaACLs(t, policy)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topic), kfake.TLS(serverTLS),
		kfake.EnableACLs(), kfake.Superuser("PLAIN", mskAdminUser, mskAdminPass),
		// Unauthenticated connections are User:ANONYMOUS to kfake; the worker's IAM-authenticated
		// connections stay that (see sasl below), so the role's ACLs are seeded for it.
		kfake.User("PLAIN", "ANONYMOUS", "not-used-"+mskAdminPass, acls...),
		kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	m.cluster = c

	c.ControlKey(int16(kmsg.SASLHandshake), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		r := req.(*kmsg.SASLHandshakeRequest)
		if r.Mechanism != "AWS_MSK_IAM" {
			return nil, nil, false // the test's PLAIN superuser: kfake authenticates it
		}
		m.record("SASLHandshake")
		resp := r.ResponseKind().(*kmsg.SASLHandshakeResponse)
		resp.SupportedMechanisms = []string{"AWS_MSK_IAM"}
		return resp, nil, true
	})
	c.ControlKey(int16(kmsg.SASLAuthenticate), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		r := req.(*kmsg.SASLAuthenticateRequest)
		var payload map[string]string
		if json.Unmarshal(r.SASLAuthBytes, &payload) != nil {
			return nil, nil, false // PLAIN bytes
		}
		m.record("SASLAuthenticate")
		resp := r.ResponseKind().(*kmsg.SASLAuthenticateResponse)
		if err := m.checkIAM(payload, accessKey); err != nil {
			m.mu.Lock()
			m.authErrs = append(m.authErrs, err.Error())
			m.mu.Unlock()
			msg := err.Error()
			resp.ErrorCode, resp.ErrorMessage = 58, &msg // SASL_AUTHENTICATION_FAILED
			return resp, nil, true
		}
		resp.SASLAuthBytes = []byte(`{"version":"2020_10_22","request-id":"weir-test"}`)
		resp.SessionLifetimeMillis = int64(time.Hour / time.Millisecond)
		return resp, nil, true
	})
	c.Control(func(req kmsg.Request) (kmsg.Response, error, bool) {
		m.record(kmsg.Key(req.Key()).Name())
		return nil, nil, false
	})
	return m
}

func (m *fakeMSK) record(api string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.recording {
		m.requests[api]++
	}
}

func (m *fakeMSK) setRecording(on bool) {
	m.mu.Lock()
	m.recording = on
	m.mu.Unlock()
}

// checkIAM checks what MSK checks of the signed payload that the test can: its version, that
// it names the Connect action, and that it is signed with the worker's credentials.
func (m *fakeMSK) checkIAM(p map[string]string, accessKey string) error {
	m.mu.Lock()
	m.connects = append(m.connects, p["action"])
	m.mu.Unlock()
	switch {
	case p["version"] != "2020_10_22":
		return fmt.Errorf("AWS_MSK_IAM payload version %q", p["version"])
	case p["action"] != "kafka-cluster:Connect":
		return fmt.Errorf("AWS_MSK_IAM payload action %q", p["action"])
	case !strings.HasPrefix(p["x-amz-credential"], accessKey+"/"):
		return fmt.Errorf("AWS_MSK_IAM payload credential %q is not the worker's access key", p["x-amz-credential"])
	case p["x-amz-signature"] == "" || p["x-amz-algorithm"] != "AWS4-HMAC-SHA256":
		return fmt.Errorf("AWS_MSK_IAM payload is not signed: %v", p)
	}
	return nil
}

// recorded returns the API names of the worker's requests while recording was on.
func (m *fakeMSK) recorded() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int{}
	for k, v := range m.requests {
		out[k] = v
	}
	return out
}

// client returns a client of the cluster authenticated as the superuser.
func (m *fakeMSK) client(t *testing.T, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	opts = append([]kgo.Opt{kgo.SeedBrokers(m.cluster.ListenAddrs()...), kgo.DialTLSConfig(m.tlsCfg),
		kgo.SASL(saslplain.Auth{User: mskAdminUser, Pass: mskAdminPass}.AsMechanism())}, opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// kafkaACLs translates the policy's kafka-cluster grants into Kafka ACLs for User:ANONYMOUS,
// by MSK's documented equivalence. Grants the translation does not know fail the test.
func kafkaACLs(t *testing.T, policy []statement) []kfake.ACL {
	t.Helper()
	ops := map[string]struct {
		res kmsg.ACLResourceType
		op  kmsg.ACLOperation
	}{
		"kafka-cluster:describetopic":   {kmsg.ACLResourceTypeTopic, kmsg.ACLOperationDescribe},
		"kafka-cluster:readdata":        {kmsg.ACLResourceTypeTopic, kmsg.ACLOperationRead},
		"kafka-cluster:writedata":       {kmsg.ACLResourceTypeTopic, kmsg.ACLOperationWrite},
		"kafka-cluster:describegroup":   {kmsg.ACLResourceTypeGroup, kmsg.ACLOperationDescribe},
		"kafka-cluster:altergroup":      {kmsg.ACLResourceTypeGroup, kmsg.ACLOperationRead},
		"kafka-cluster:deletegroup":     {kmsg.ACLResourceTypeGroup, kmsg.ACLOperationDelete},
		"kafka-cluster:describecluster": {kmsg.ACLResourceTypeCluster, kmsg.ACLOperationDescribe},
	}
	var acls []kfake.ACL
	for _, st := range policy {
		if !st.allow {
			continue
		}
		for _, a := range st.actions {
			a = strings.ToLower(a)
			if !strings.HasPrefix(a, "kafka-cluster:") || a == "kafka-cluster:connect" {
				continue
			}
			o, ok := ops[a]
			if !ok {
				t.Fatalf("the task role grants %s, which the fake MSK cannot translate to a Kafka ACL", a)
			}
			for _, arn := range st.resources {
				name, pattern := "kafka-cluster", kmsg.ACLResourcePatternTypeLiteral
				if o.res != kmsg.ACLResourceTypeCluster {
					// arn:…:topic/CLUSTER/UUID/NAME, arn:…:group/CLUSTER/UUID/NAME
					parts := strings.SplitN(arn, "/", 4)
					if len(parts) != 4 {
						t.Fatalf("kafka-cluster resource %q is not CLUSTER/UUID/NAME", arn)
					}
					name = parts[3]
					if p, isPrefix := strings.CutSuffix(name, "*"); isPrefix && name != "*" {
						name, pattern = p, kmsg.ACLResourcePatternTypePrefixed
					}
				}
				acls = append(acls, kfake.ACL{Resource: o.res, Name: name, Pattern: pattern, Operation: o.op, Allow: true})
			}
		}
	}
	return acls
}

// testCertificates returns a server TLS config for 127.0.0.1 and the PEM of its CA.
func testCertificates(t *testing.T) (*tls.Config, []byte) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "weir test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTpl, caTpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
}
