package main

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
)

// The split of the dev set into the development set D, on which every decision is taken by
// leave-one-category-out, and the internal test subset T, looked at rarely (README.md, "The
// protocol"). The rule is mechanical so that the choice of test series is not anybody's.

// testPerCategory is how many series of a category go to T: one, and two in the one category
// that holds almost a third of the dev set, so that T stays roughly proportional (8 of 46).
func testPerCategory(category string, files int) int {
	if files >= 10 {
		return 2
	}
	return 1
}

// labelSet is a windows JSON: file key (<category>/<name>.csv) to its windows.
type labelSet map[string][][2]string

// category returns the category of a file key.
func category(key string) string {
	c, _, _ := strings.Cut(key, "/")
	return c
}

// fnv64 is FNV-1a 64, the hash that orders a category's series for the split.
func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// split returns the test subset T: in each category, the testPerCategory series whose keys
// have the lowest FNV-1a hash.
func split(labels labelSet) map[string]bool {
	byCat := map[string][]string{}
	for k := range labels {
		byCat[category(k)] = append(byCat[category(k)], k)
	}
	test := map[string]bool{}
	for c, keys := range byCat {
		sort.Slice(keys, func(i, j int) bool { return fnv64(keys[i]) < fnv64(keys[j]) })
		for _, k := range keys[:min(testPerCategory(c, len(keys)), len(keys)-1)] {
			test[k] = true
		}
	}
	return test
}

// categories returns the sorted categories of a label set.
func (l labelSet) categories() []string {
	seen := map[string]bool{}
	for k := range l {
		seen[category(k)] = true
	}
	cs := make([]string, 0, len(seen))
	for c := range seen {
		cs = append(cs, c)
	}
	sort.Strings(cs)
	return cs
}

// filter returns the files of l for which keep is true.
func (l labelSet) filter(keep func(key string) bool) labelSet {
	out := labelSet{}
	for k, v := range l {
		if keep(k) {
			out[k] = v
		}
	}
	return out
}

// windows counts the windows of l.
func (l labelSet) windows() int {
	n := 0
	for _, v := range l {
		n += len(v)
	}
	return n
}

func (l labelSet) String() string {
	return fmt.Sprintf("%d files, %d windows", len(l), l.windows())
}

// readSplit reads the labels of the dev split under dataDir (every file of D and T), which of
// them are T (split), and D.
func readSplit(dataDir string) (labels labelSet, test map[string]bool, dev labelSet, err error) {
	labels, err = readLabels(filepath.Join(dataDir, "labels", "windows_dev.json"))
	if err != nil {
		return nil, nil, nil, err
	}
	test = split(labels)
	return labels, test, labels.filter(func(k string) bool { return !test[k] }), nil
}
