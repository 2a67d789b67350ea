package deploy

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/sinks/layout"
)

// lifecycleRule is one resolved rule of a bucket's LifecycleConfiguration.
type lifecycleRule struct {
	id, prefix   string
	expireDays   int // 0: the rule expires nothing
	abortUploads int // 0: the rule aborts no multipart upload
}

// TestBucketLifecycle holds each template's bucket to what the worker needs: created unless
// CreateBucket is false, kept when the stack goes, and with lifecycle rules, expressed with the
// configured prefix, that expire the worker's transient objects (load reports after a day,
// partials after PartialRetentionDays) and never an object the worker reads back later (the
// aggregator's state, the publish markers) or the operator's data (reports, summaries, anomaly
// events, dead letters), nor anything outside the prefix. The keys are the worker's own
// (sinks/layout), as the S3 sink writes them under the prefix.
func TestBucketLifecycle(t *testing.T) {
	const prefix, partialDays = "team-a/weir", 9
	start := time.Date(2026, 12, 6, 13, 0, 0, 0, time.UTC)
	w := pipeline.Window{Start: start, End: start.Add(time.Minute)}
	part := pipeline.Partition{Stream: "events", ID: "3"}
	letter := []pipeline.DeadLetter{{Partition: part, Position: pipeline.Position{Offset: 41}, Time: start, Reason: "decode"}}
	expire := map[string]int{ // key under the prefix → days after which it must expire
		layout.LoadKey(start, "0f1e2d3c4b5a6978"): 1,
		layout.PartialKey(start, part):            partialDays,
	}
	keep := []string{ // keys under the prefix that must never expire
		layout.StateKey("aggregator"),
		layout.PublishedKey(w),
		layout.ReportKey("report", "5xx-by-tenant", w, "", true),
		layout.ReportKey("summary", "fleet", w, "", false),
		layout.ReportKey("anomaly", "Records", w, "", true),
		layout.DeadLetterKey(letter, true),
	}
	for _, path := range templates(t) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			tpl := load(t, path)
			bucket, ok := get(tpl, "Resources", "Bucket").(map[string]any)
			if !ok {
				t.Fatal("no Bucket resource: nothing expires the worker's load reports and partials")
			}
			if bucket["DeletionPolicy"] != "Retain" || bucket["UpdateReplacePolicy"] != "Retain" {
				t.Errorf("Bucket DeletionPolicy %v, UpdateReplacePolicy %v: want Retain (it holds the reports, the dead letters and the aggregator's state)",
					bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"])
			}
			values := maps.Clone(testParameters[name])
			values["BucketPrefix"], values["PartialRetentionDays"] = prefix, strconv.Itoa(partialDays)
			st := newStack(t, tpl, values)
			props := st.resource(t, "Bucket")
			if props == nil {
				t.Fatal("the bucket is not created by default")
			}
			if props["BucketName"] != values["BucketName"] {
				t.Errorf("the bucket is named %v, the worker writes to %s", props["BucketName"], values["BucketName"])
			}
			if env := st.environment(t); env["WEIR_SINKS_S3_BUCKET"] != values["BucketName"] || env["WEIR_SINKS_S3_PREFIX"] != prefix {
				t.Errorf("the worker writes to s3://%s/%s, the rules are for s3://%s/%s",
					env["WEIR_SINKS_S3_BUCKET"], env["WEIR_SINKS_S3_PREFIX"], values["BucketName"], prefix)
			}
			rules := lifecycleRules(t, props)

			for _, r := range rules {
				if !strings.HasPrefix(r.prefix, prefix+"/") {
					t.Errorf("rule %s applies to %q, beyond the worker's prefix %s/: it would reach other objects of the bucket", r.id, r.prefix, prefix)
				}
			}
			for key, days := range expire {
				if got := expiryDays(rules, prefix+"/"+key); got != days {
					t.Errorf("%s/%s expires after %d days, want %d", prefix, key, got, days)
				}
			}
			for _, key := range keep {
				if got := expiryDays(rules, prefix+"/"+key); got != 0 {
					t.Errorf("%s/%s expires after %d days: the worker or its operator needs it", prefix, key, got)
				}
			}
			for key := range expire { // another application's objects in the same bucket
				if got := expiryDays(rules, "other/"+key); got != 0 {
					t.Errorf("other/%s, outside the prefix, expires after %d days", key, got)
				}
			}
			aborts := false
			for _, r := range rules {
				aborts = aborts || (r.abortUploads > 0 && r.prefix == prefix+"/")
			}
			if !aborts {
				t.Error("no rule aborts the multipart uploads a crash left under the prefix: their parts are billed forever")
			}

			// With CreateBucket=false the stack leaves an existing bucket alone.
			values["CreateBucket"] = "false"
			if props := newStack(t, tpl, values).resource(t, "Bucket"); props != nil {
				t.Error("CreateBucket=false still creates the bucket")
			}
			// When the stack creates the bucket, the service waits for it: the worker's start
			// writes a probe object there and fails without it.
			waits := false
			for _, tag := range listOf(get(tpl, "Resources", "Service", "Properties", "Tags")) {
				v := get(tag, "Value", "!If")
				if l, ok := v.([]any); ok && len(l) == 3 && l[0] == "WantBucket" && get(l[1], "!Ref") == "Bucket" {
					waits = true
				}
			}
			if !waits {
				t.Error("the Service does not refer to the Bucket it creates: ECS could start tasks before the bucket exists")
			}
		})
	}
}

// lifecycleRules reads a resolved bucket's enabled lifecycle rules.
func lifecycleRules(t *testing.T, bucket map[string]any) []lifecycleRule {
	t.Helper()
	var out []lifecycleRule
	for _, r := range listOf(get(bucket, "LifecycleConfiguration", "Rules")) {
		if get(r, "Status") != "Enabled" {
			continue
		}
		rule := lifecycleRule{id: get(r, "Id").(string)}
		if get(r, "Filter") != nil || get(r, "TagFilters") != nil {
			t.Fatalf("rule %s: filters other than Prefix are not read by this test", rule.id)
		}
		rule.prefix, _ = get(r, "Prefix").(string) // none: the whole bucket
		var err error
		if d, ok := get(r, "ExpirationInDays").(string); ok {
			if rule.expireDays, err = strconv.Atoi(d); err != nil {
				t.Fatalf("rule %s: ExpirationInDays %q", rule.id, d)
			}
		}
		if d, ok := get(r, "AbortIncompleteMultipartUpload", "DaysAfterInitiation").(string); ok {
			if rule.abortUploads, err = strconv.Atoi(d); err != nil {
				t.Fatalf("rule %s: DaysAfterInitiation %q", rule.id, d)
			}
		}
		if get(r, "ExpirationDate") != nil || get(r, "Transitions") != nil || get(r, "NoncurrentVersionExpiration") != nil {
			t.Fatalf("rule %s: actions other than expiry and aborting uploads are not read by this test", rule.id)
		}
		out = append(out, rule)
	}
	return out
}

// expiryDays is after how many days the rules expire key: the shortest expiry of a rule whose
// prefix it has, 0 if none expires it.
func expiryDays(rules []lifecycleRule, key string) int {
	days := 0
	for _, r := range rules {
		if r.expireDays > 0 && strings.HasPrefix(key, r.prefix) && (days == 0 || r.expireDays < days) {
			days = r.expireDays
		}
	}
	return days
}

// TestReadmeLifecycleRulesMatchTheTemplates: the rules deploy/README.md gives for an existing
// bucket (CreateBucket=false) are the ones the templates put on the bucket they create, for
// the default prefix and retention.
func TestReadmeLifecycleRulesMatchTheTemplates(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Rules []struct {
			ID, Status string
			Filter     struct{ Prefix string }
			Expiration struct{ Days int }
			Abort      struct{ DaysAfterInitiation int } `json:"AbortIncompleteMultipartUpload"`
		}
	}
	var block string
	for _, m := range regexp.MustCompile("(?s)```json\n(.*?)```").FindAllStringSubmatch(string(readme), -1) {
		if strings.Contains(m[1], "weir-load-reports") {
			block = m[1]
		}
	}
	if block == "" {
		t.Fatal("deploy/README.md has no lifecycle rules (a json block with weir-load-reports) for an existing bucket")
	}
	if err := json.Unmarshal([]byte(block), &doc); err != nil {
		t.Fatalf("the README's lifecycle rules: %v\n%s", err, block)
	}
	var readmeRules []lifecycleRule
	for _, r := range doc.Rules {
		if r.Status == "Enabled" {
			readmeRules = append(readmeRules, lifecycleRule{id: r.ID, prefix: r.Filter.Prefix, expireDays: r.Expiration.Days, abortUploads: r.Abort.DaysAfterInitiation})
		}
	}
	byID := func(a, b lifecycleRule) int { return strings.Compare(a.id, b.id) }
	slices.SortFunc(readmeRules, byID)
	for _, path := range templates(t) {
		name := filepath.Base(path)
		rules := lifecycleRules(t, newStack(t, load(t, path), testParameters[name]).resource(t, "Bucket"))
		slices.SortFunc(rules, byID)
		if !slices.Equal(rules, readmeRules) {
			t.Errorf("%s's bucket has the rules\n  %+v\nthe README gives\n  %+v", name, rules, readmeRules)
		}
	}
}
