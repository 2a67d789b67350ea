package layout

import (
	"encoding/binary"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"

	"github.com/weirstream/weir/pipeline"
)

// GroupDeadLetters splits letters into objects: one per stream, whatever the partitions, each
// partition's letters together and in order, streams and partitions in first-seen order. A
// flood of bad records reaches the sink as letters of every partition at once, and an object
// per partition made each flush cost as many objects (a temporary file, its fsyncs and a
// rename; an S3 PUT) as there were partitions. When the letters come so ordered already (the
// runtime hands them over sorted by stream and partition), the groups are sub-slices of
// letters, not copies.
func GroupDeadLetters(letters []pipeline.DeadLetter) [][]pipeline.DeadLetter {
	if runs, ok := streamRuns(letters); ok {
		return runs
	}
	var streams []string
	var parts []pipeline.Partition
	byPart := map[pipeline.Partition][]pipeline.DeadLetter{}
	for _, l := range letters {
		if _, ok := byPart[l.Partition]; !ok {
			parts = append(parts, l.Partition)
			if !slices.Contains(streams, l.Partition.Stream) {
				streams = append(streams, l.Partition.Stream)
			}
		}
		byPart[l.Partition] = append(byPart[l.Partition], l)
	}
	groups := make([][]pipeline.DeadLetter, 0, len(streams))
	for _, s := range streams {
		var g []pipeline.DeadLetter
		for _, p := range parts {
			if p.Stream == s {
				g = append(g, byPart[p]...)
			}
		}
		groups = append(groups, g)
	}
	return groups
}

// streamRuns splits letters into runs of one stream, and reports whether no stream and no
// partition has two runs.
func streamRuns(letters []pipeline.DeadLetter) ([][]pipeline.DeadLetter, bool) {
	var runs [][]pipeline.DeadLetter
	var seen []pipeline.Partition
	start := 0
	for i := range letters {
		p := letters[i].Partition
		if i > 0 && p == letters[i-1].Partition {
			continue
		}
		if slices.Contains(seen, p) {
			return nil, false
		}
		seen = append(seen, p)
		if i > 0 && p.Stream != letters[start].Partition.Stream {
			for _, r := range runs {
				if r[0].Partition.Stream == p.Stream {
					return nil, false
				}
			}
			runs = append(runs, letters[start:i:i])
			start = i
		}
	}
	if len(letters) > 0 {
		runs = append(runs, letters[start:len(letters):len(letters)])
	}
	return runs, true
}

// DeadLetterKey is the key of an object holding letters, all of one stream, in order. Letters
// of one partition are named by it and their first and last position, as records are
// (RecordsKey). Letters of several partitions are named by the first letter's partition and
// position and a hash of every partition's run of positions in the object (h<16 hex digits>):
// the same letters get the same key, so a retried write overwrites; and two objects starting
// at the same letter with different contents (a replay after a crash groups the letters
// differently) get different keys, so neither overwrites letters the other holds.
func DeadLetterKey(letters []pipeline.DeadLetter, gz bool) string {
	first, last := letters[0], letters[len(letters)-1]
	if !severalPartitions(letters) {
		return RecordsKey("deadletter", first.Partition, first.Position, last.Position, first.Time, gz)
	}
	var b strings.Builder
	b.WriteString("kind=deadletter/stream=")
	b.WriteString(Escape(first.Partition.Stream))
	timePartitions(&b, first.Time)
	b.WriteString(Escape(first.Partition.ID))
	b.WriteString("_")
	b.WriteString(Escape(first.Position.String()))
	b.WriteString("_h")
	hex := strconv.FormatUint(runsHash(letters), 16)
	b.WriteString(strings.Repeat("0", 16-len(hex)))
	b.WriteString(hex)
	b.WriteString(Ext(gz))
	return b.String()
}

func severalPartitions(letters []pipeline.DeadLetter) bool {
	for i := 1; i < len(letters); i++ {
		if letters[i].Partition != letters[0].Partition {
			return true
		}
	}
	return false
}

// runsHash hashes the object's contents by their identity: for each run of letters of one
// partition, the partition, its first and last position and how many letters it holds.
func runsHash(letters []pipeline.DeadLetter) uint64 {
	h := fnv.New64a()
	var n [8]byte
	field := func(s string) {
		binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	start := 0
	for i := 1; i <= len(letters); i++ {
		if i < len(letters) && letters[i].Partition == letters[start].Partition {
			continue
		}
		field(letters[start].Partition.ID)
		field(letters[start].Position.String())
		field(letters[i-1].Position.String())
		binary.LittleEndian.PutUint64(n[:], uint64(i-start))
		h.Write(n[:])
		start = i
	}
	return h.Sum64()
}
