package moto

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// s3Auth is an Authorization header scoped to S3. moto does not check signatures, but it
// answers an unsigned conditional PUT that fails with 403 instead of S3's 412.
const s3Auth = "AWS4-HMAC-SHA256 Credential=moto/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0"

// S3 applies a conditional PUT atomically: of writers racing to create one key with
// If-None-Match: *, exactly one gets 200 and the others 412. moto checks the condition and then
// writes, on concurrent threads; unless the launcher serialises S3 writes, two racing PUTs can
// both pass the check and both "win" (a publish claimed twice). Each round races writers on a
// fresh key. The race is rare on an idle machine; with Python made to switch threads every
// microsecond, the unguarded server failed this in most runs.
func TestConcurrentConditionalPutsHaveOneWinner(t *testing.T) {
	s := Start(t)
	if got := status(t, http.MethodPut, s.Endpoint()+"/race-bucket"); got != http.StatusOK {
		t.Fatalf("create bucket: HTTP %d\n%s", got, s.Output())
	}
	const rounds, writers = 40, 8
	for round := range rounds {
		url := fmt.Sprintf("%s/race-bucket/claim-%d", s.Endpoint(), round)
		var wg sync.WaitGroup
		codes := make([]int, writers)
		start := make(chan struct{})
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, err := http.NewRequest(http.MethodPut, url, strings.NewReader(fmt.Sprint("writer ", i)))
				if err != nil {
					t.Error(err)
					return
				}
				req.Header.Set("If-None-Match", "*")
				req.Header.Set("Authorization", s3Auth)
				<-start
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				codes[i] = resp.StatusCode
				if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPreconditionFailed {
					t.Logf("HTTP %d: %s", resp.StatusCode, b)
				}
			}()
		}
		close(start)
		wg.Wait()
		won := 0
		for _, c := range codes {
			switch c {
			case http.StatusOK:
				won++
			case http.StatusPreconditionFailed:
			default:
				t.Fatalf("round %d: HTTP %d to a conditional PUT", round, c)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d of %d conditional PUTs of one key succeeded, want 1 (%v)", round, won, writers, codes)
		}
	}
}
