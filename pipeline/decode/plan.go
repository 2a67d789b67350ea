package decode

import (
	"errors"
	"fmt"
	"strconv"
)

// Plan is the set of fields that one stream's operators need from each record. Operators add
// their paths while they are built (Add returns the index where the field's value will be found
// in the slice Decode fills); runners then create one Decoder each. A Plan is not safe for
// concurrent Add; once NewDecoder has been called it is frozen and Add fails, so decoders can
// read it without locks.
//
// Path syntax depends on the format:
//   - JSON and Msgpack: a JSON property path as ParsePath accepts it ("$.a.b", "$.arr[0]").
//   - CLF: the field's 1-based position in the line as a decimal string ("1", "4"), which is
//     how CloudWatch numbers CLF fields; a contributor rule maps its Fields aliases to positions
//     before calling Add.
type Plan struct {
	format Format
	index  map[string]int
	n      int
	frozen bool

	// JSON / Msgpack: a trie of the planned paths, and how many nodes it has (node.id < nodes).
	root  *node
	nodes int
	// CLF: field index of each position (index 0 unused), -1 where nothing is planned.
	clf []int
}

// node is one step of the planned-path trie. A node can be both a field (its value is wanted)
// and the parent of other planned paths ("$.a" and "$.a.b").
type node struct {
	id      int // numbers the plan's nodes from 0 (the root): a Decoder's guesses are indexed by it
	field   int // index into the values slice, or -1
	members []member
	keys    memberTable // indexes members
	elems   []elem
}

type member struct {
	key string
	n   *node
}

type elem struct {
	index int
	n     *node
}

// MaxCLFPosition bounds CLF positions: no log line has more fields that a rule could name.
const MaxCLFPosition = 1024

// errFrozen is returned by Add after NewDecoder.
var errFrozen = errors.New("plan is frozen: fields must be added before the first NewDecoder")

// NewPlan returns an empty Plan for payloads of format f.
func NewPlan(f Format) *Plan {
	return &Plan{format: f, index: map[string]int{}, root: &node{field: -1}, nodes: 1}
}

// Format is the payload format the Plan decodes.
func (p *Plan) Format() Format { return p.format }

// Len is the number of distinct fields planned: the length Decode's out slice must have.
func (p *Plan) Len() int { return p.n }

// Add plans a field and returns its index in the values slice. The same path (as written)
// always returns the same index.
func (p *Plan) Add(path string) (int, error) {
	if i, ok := p.index[path]; ok {
		return i, nil
	}
	if p.frozen {
		return 0, errFrozen
	}
	switch p.format {
	case JSON, Msgpack:
		parsed, err := ParsePath(path)
		if err != nil {
			return 0, err
		}
		n := p.root
		for _, s := range parsed.steps {
			n = n.child(s, &p.nodes)
		}
		if n.field >= 0 {
			// A different spelling of a planned path ("$['a']" and "$.a"): share its index.
			p.index[path] = n.field
			return n.field, nil
		}
		n.field = p.n
	case CLF:
		pos, err := strconv.Atoi(path)
		if err != nil || pos < 1 || pos > MaxCLFPosition || strconv.Itoa(pos) != path {
			return 0, fmt.Errorf("CLF field %q: want a 1-based position from 1 to %d", path, MaxCLFPosition)
		}
		for len(p.clf) <= pos {
			p.clf = append(p.clf, -1)
		}
		p.clf[pos] = p.n
	default:
		return 0, fmt.Errorf("plan: unknown format %v", p.format)
	}
	p.index[path] = p.n
	p.n++
	return p.n - 1, nil
}

// child returns the node for step s below n, creating it (numbered from *nodes) if needed.
func (n *node) child(s Step, nodes *int) *node {
	if s.Index < 0 {
		for _, m := range n.members {
			if m.key == s.Key {
				return m.n
			}
		}
		c := &node{id: *nodes, field: -1}
		*nodes++
		n.members = append(n.members, member{s.Key, c})
		n.keys.rebuild(n.members)
		return c
	}
	for _, e := range n.elems {
		if e.index == s.Index {
			return e.n
		}
	}
	c := &node{id: *nodes, field: -1}
	*nodes++
	n.elems = append(n.elems, elem{s.Index, c})
	return c
}

// elem returns the child for array element i, or nil.
func (n *node) elem(i int) *node {
	for k := range n.elems {
		if n.elems[k].index == i {
			return n.elems[k].n
		}
	}
	return nil
}
