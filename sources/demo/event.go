package demo

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// Event is one access-log line, as the demo generator and the benchmark harness produce it.
type Event struct {
	TS        time.Time
	Tenant    int // rendered t-0042
	User      int // rendered u-1234
	Path      string
	Method    string
	Status    int
	Bytes     int
	LatencyMS float64
}

// Fill draws the request part of the event (path, method, status, size, latency): a 5xx with
// probability errorRate, slower and smaller than a success.
func (e *Event) Fill(r *rand.Rand, errorRate float64) {
	i := r.IntN(len(paths))
	e.Path, e.Method = paths[i], methods[i]
	if r.Float64() < errorRate {
		e.Status = errCode[r.IntN(len(errCode))]
		e.LatencyMS = 200 + r.ExpFloat64()*800
		e.Bytes = 120 + r.IntN(200)
		return
	}
	e.Status = okCodes[r.IntN(len(okCodes))]
	e.LatencyMS = 2 + r.ExpFloat64()*25
	e.Bytes = 200 + int(r.ExpFloat64()*4000)
}

var (
	paths   = []string{"/api/v1/items", "/api/v1/items/{id}", "/api/v1/orders", "/api/v1/search", "/api/v1/login", "/healthz", "/static/app.js"}
	methods = []string{"GET", "GET", "GET", "GET", "POST", "PUT", "DELETE"}
	okCodes = []int{200, 200, 200, 200, 201, 204, 304, 404}
	errCode = []int{500, 502, 503, 504}
)

// Zipf draws ranks 0..n-1 with P(k) ∝ 1/(k+1)^s by inverting a precomputed CDF: a few tenants
// carry most traffic, as real multi-tenant services see.
type Zipf struct{ cdf []float64 }

// NewZipf precomputes the distribution over n ranks with exponent s.
func NewZipf(n int, s float64) Zipf {
	z := Zipf{cdf: make([]float64, n)}
	var sum float64
	for k := range n {
		sum += 1 / math.Pow(float64(k+1), s)
		z.cdf[k] = sum
	}
	for k := range z.cdf {
		z.cdf[k] /= sum
	}
	return z
}

// Draw returns a rank.
func (z Zipf) Draw(r *rand.Rand) int {
	u := r.Float64()
	lo, hi := 0, len(z.cdf)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if z.cdf[mid] < u {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// AppendJSON renders the event the way services log it (fields in a fixed order), ~200 bytes.
func (e *Event) AppendJSON(b []byte) []byte {
	b = append(b, `{"ts":"`...)
	b = e.TS.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	b = append(b, `","tenant":"t-`...)
	b = appendPadded(b, e.Tenant)
	b = append(b, `","user":"u-`...)
	b = appendPadded(b, e.User)
	b = append(b, `","path":"`...)
	b = append(b, e.Path...)
	b = append(b, `","method":"`...)
	b = append(b, e.Method...)
	b = append(b, `","status":`...)
	b = strconv.AppendInt(b, int64(e.Status), 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, int64(e.Bytes), 10)
	b = append(b, `,"latency_ms":`...)
	b = strconv.AppendFloat(b, e.LatencyMS, 'f', 1, 64)
	return append(b, '}')
}

// msgpackEvent is the msgpack form: the same fields, names and values as the JSON.
type msgpackEvent struct {
	TS        string  `msgpack:"ts"`
	Tenant    string  `msgpack:"tenant"`
	User      string  `msgpack:"user"`
	Path      string  `msgpack:"path"`
	Method    string  `msgpack:"method"`
	Status    int     `msgpack:"status"`
	Bytes     int     `msgpack:"bytes"`
	LatencyMS float64 `msgpack:"latency_ms"`
}

// Msgpack renders the event as a msgpack map with the JSON form's field names and values. The
// latency is rounded to 0.1 ms as the JSON form prints it: with all 52 bits of the generator's
// random mantissa, msgpack would carry information the JSON does not and its batches would
// compress worse, making the msgpack benchmark a test of compression, not of decoding.
func (e *Event) Msgpack() ([]byte, error) {
	return msgpack.Marshal(msgpackEvent{
		TS:     e.TS.UTC().Format("2006-01-02T15:04:05.000Z07:00"),
		Tenant: "t-" + string(appendPadded(nil, e.Tenant)), User: "u-" + string(appendPadded(nil, e.User)),
		Path: e.Path, Method: e.Method, Status: e.Status, Bytes: e.Bytes,
		LatencyMS: tenths(e.LatencyMS),
	})
}

// tenths returns the value the JSON form's latency_ms ("%.1f") reads back as.
func tenths(v float64) float64 {
	var buf [32]byte
	r, _ := strconv.ParseFloat(string(strconv.AppendFloat(buf[:0], v, 'f', 1, 64)), 64)
	return r
}

// UserKey is the record key the generators use: the user, so a user's events stay in order.
func (e *Event) UserKey() []byte { return append([]byte("u-"), appendPadded(nil, e.User)...) }

func appendPadded(b []byte, n int) []byte {
	if n < 1000 {
		b = append(b, '0')
	}
	if n < 100 {
		b = append(b, '0')
	}
	if n < 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, int64(n), 10)
}
