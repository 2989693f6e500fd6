package datanode

import (
	"bytes"
	"slices"
	"time"

	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/datanode/store"
)

// How a SORT runs. It locks the slots of its key and STORE destination;
// the keys its BY and GET patterns name are known only once the elements
// are read, so when one of them hashes to a slot not locked, the command
// lets go, adds the slots it found and starts again (after a few rounds,
// with every slot locked), so that it reads and writes everything under
// its locks, atomically, as Redis's single thread does. Inside EXEC, which
// holds every slot for a SORT with patterns (command.patternKeys), nothing
// more is locked; inside a script, the pattern keys' slots are added to
// those the script holds. In cluster mode the patterns are refused (see
// parseSort), so a SORT touches only its key's slot.

// sortRetries is how many times a SORT relocks with the pattern slots it
// found before it locks every slot.
const sortRetries = 2

// sortItem is one element of the vector SORT orders.
type sortItem struct {
	elem  []byte
	score float64 // the weight, numeric sort
	cmp   []byte  // the BY value, ALPHA sort; nil when its key is missing
}

// sort runs SORT, or SORT_RO when readonly.
func (c *client) sort(args [][]byte, readonly bool) {
	o, ok := c.parseSort(args, readonly)
	if !ok {
		return
	}
	key := args[1]
	if c.held != nil {
		avail := func(id int) bool {
			return c.held.hasID(id) || c.srv.member == nil && c.extendHeld(id)
		}
		if _, done := c.sortLocked(key, o, avail); !done {
			c.replyError("ERR " + errUndeclaredBusy)
		}
		return
	}
	ids := []int{slot.Of(key)}
	if o.store != nil {
		ids = append(ids, slot.Of(o.store))
	}
	for attempt := 0; ; attempt++ {
		slices.Sort(ids)
		ids = slices.Compact(ids)
		unlock := c.srv.store.LockSlots(ids)
		locked := slices.Clone(ids)
		missing, done := c.sortLocked(key, o, func(id int) bool {
			_, found := slices.BinarySearch(locked, id)
			return found
		})
		unlock()
		if done {
			return
		}
		if attempt >= sortRetries {
			ids = ids[:0]
			for id := range slot.Count {
				ids = append(ids, id)
			}
			continue
		}
		ids = append(ids, missing...)
	}
}

// sortLocked runs a SORT whose key and destination slots are locked. avail
// reports whether a slot a pattern key hashes to is locked too; when one
// is not, sortLocked replies nothing and returns those slots, done false.
func (c *client) sortLocked(key []byte, o sortOpts, avail func(id int) bool) (missing []int, done bool) {
	s := c.srv
	now := time.Now().UnixMilli()
	v, _, typ, found := s.lookupReadTyped(s.keySlot(key), key, now)
	if !found {
		typ = store.TypeList // Redis sorts an empty list
	}
	var elems [][]byte
	switch {
	case !found:
	case typ == store.TypeList:
		listValue(v).each(func(_ int, e []byte, _, _ int) bool {
			elems = append(elems, bytes.Clone(e))
			return true
		})
	case typ == store.TypeSet:
		setValue(v).each(func(m []byte) bool {
			elems = append(elems, bytes.Clone(m))
			return true
		})
	case typ == store.TypeZSet:
		z := zsetValue(v)
		for i := range z.len() {
			elems = append(elems, bytes.Clone(z.member(i)))
		}
	default:
		c.replyError(errWrongType)
		return nil, true
	}
	if o.dontsort && typ == store.TypeSet && (o.store != nil || c.inScript) {
		// A set's order is its own: for a result replicated or stored,
		// Redis sorts it.
		o.dontsort, o.alpha, o.by = false, true, nil
	}
	if missing = c.sortPatternSlots(o, elems, avail); len(missing) > 0 {
		return missing, false
	}
	if o.dontsort && typ != store.TypeSet && o.desc {
		slices.Reverse(elems) // a list or sorted set in its own order, reversed
	}
	items := make([]sortItem, len(elems))
	for i, e := range elems {
		items[i].elem = e
	}
	if !o.dontsort {
		if !c.sortWeights(items, o, now) {
			c.replyError(errSortScores)
			return nil, true
		}
		slices.SortStableFunc(items, sortCompare(o))
	}
	start, end := sortRange(o, len(items))
	c.sortOutput(items[start:end], o, now)
	return nil, true
}

// sortPatternSlots returns the slots, not available, that the keys the
// BY and GET patterns name for elems hash to.
func (c *client) sortPatternSlots(o sortOpts, elems [][]byte, avail func(id int) bool) []int {
	var patterns [][]byte
	if !o.dontsort && o.by != nil {
		patterns = append(patterns, o.by)
	}
	patterns = append(patterns, o.gets...)
	var missing []int
	for _, pat := range patterns {
		if cStrchr(pat, '*') < 0 {
			continue
		}
		for _, e := range elems {
			p, _ := resolveSortPattern(pat, e)
			if p.self {
				continue
			}
			if id := slot.Of(p.key); !avail(id) && !slices.Contains(missing, id) {
				missing = append(missing, id)
			}
		}
	}
	return missing
}

// sortWeights loads each item's weight: its BY value or its own, a
// double unless ALPHA. It reports false when one is not a double.
func (c *client) sortWeights(items []sortItem, o sortOpts, now int64) bool {
	ok := true
	for i := range items {
		val := items[i].elem
		if o.by != nil {
			v, found := c.sortLookup(o.by, items[i].elem, now)
			if !found {
				continue
			}
			val = v
		}
		if o.alpha {
			if o.by != nil {
				items[i].cmp = append([]byte{}, val...)
			}
			continue
		}
		f, fine := sortScore(val)
		items[i].score = f
		ok = ok && fine
	}
	return ok
}

// sortCompare returns Redis's sortCompare for o: numeric weights with ties
// broken by the elements' bytes, or ALPHA by the BY values (missing ones
// first) or the elements, bytewise for STORE and collated otherwise.
func sortCompare(o sortOpts) func(a, b sortItem) int {
	str := collate
	if o.store != nil {
		str = bytes.Compare
	}
	return func(a, b sortItem) int {
		var r int
		switch {
		case !o.alpha:
			switch {
			case a.score > b.score:
				r = 1
			case a.score < b.score:
				r = -1
			default:
				r = bytes.Compare(a.elem, b.elem)
			}
		case o.by == nil:
			r = str(a.elem, b.elem)
		case a.cmp == nil || b.cmp == nil:
			switch {
			case a.cmp == nil && b.cmp == nil:
			case a.cmp == nil:
				r = -1
			default:
				r = 1
			}
		default:
			r = str(a.cmp, b.cmp)
		}
		if o.desc {
			return -r
		}
		return r
	}
}

// sortRange returns the LIMIT's slice bounds [start, end) in n items, as
// Redis clamps them.
func sortRange(o sortOpts, n int) (int, int) {
	n64 := int64(n)
	start := min(max(o.start, 0), n64)
	count := min(max(o.count, -1), n64)
	end := n64 - 1
	if count >= 0 {
		end = start + count - 1
	}
	if start >= n64 {
		start, end = n64-1, n64-2
	}
	end = min(end, n64-1)
	if end < start {
		return 0, 0
	}
	return int(start), int(end + 1)
}

// sortLookup is Redis's lookupKeyByPattern: the element itself for "#",
// else the string or hash field the pattern names for elem, if any.
func (c *client) sortLookup(pattern, elem []byte, now int64) ([]byte, bool) {
	p, ok := resolveSortPattern(pattern, elem)
	switch {
	case !ok:
		return nil, false
	case p.self:
		return elem, true
	}
	s := c.srv
	v, _, typ, found := s.lookupReadTyped(s.keySlot(p.key), p.key, now)
	switch {
	case !found:
		return nil, false
	case p.hasField:
		if typ != store.TypeHash {
			return nil, false
		}
		return hashValue(v).get(p.field)
	case typ != store.TypeString:
		return nil, false
	}
	return v, true
}

// sortOutput replies the sorted items, or their GET values, or stores
// them as a list and replies how many it stored.
func (c *client) sortOutput(items []sortItem, o sortOpts, now int64) {
	n := len(items) * max(len(o.gets), 1)
	if o.store == nil {
		c.replyArray(n)
		for _, it := range items {
			if len(o.gets) == 0 {
				c.replyBulk(it.elem)
			}
			for _, g := range o.gets {
				if v, ok := c.sortLookup(g, it.elem, now); ok {
					c.replyBulk(v)
				} else {
					c.replyNull()
				}
			}
		}
		return
	}
	vals := make([][]byte, 0, n)
	for _, it := range items {
		if len(o.gets) == 0 {
			vals = append(vals, it.elem)
		}
		for _, g := range o.gets {
			v, _ := c.sortLookup(g, it.elem, now)
			vals = append(vals, bytes.Clone(v)) // a missing value is stored empty
		}
	}
	sl := c.srv.keySlot(o.store)
	if n == 0 {
		sl.Delete(o.store)
	} else if err := sl.SetTyped(o.store, newList(vals, 0), store.TypeList, 0, now); err != nil {
		c.replyStoreError(err)
		return
	}
	c.replyInt(int64(n))
}
