package datanode

import "encoding/binary"

// A list is stored as one store value of type store.TypeList:
//
//	encoding  1 byte   listQuicklist: Redis 7.0 reports every list as a quicklist
//	count     8 bytes  little-endian number of elements
//	head      8 bytes  little-endian offset of the first element
//	tail      8 bytes  little-endian offset just past the last element
//	spare     head-25 bytes, free for pushes at the head
//	elements  count times: uvarint length, the bytes, then the length's
//	          uvarint again with its bytes reversed, so that the list can
//	          be walked from either end (as a listpack's backlen allows)
//	spare     len-tail bytes, free for pushes at the tail
//
// The spare bytes at both ends make pushes and pops at either end cost
// time proportional to the elements pushed or popped, not to the list:
// they write inside the value, whose length does not change, through the
// store's Slot.Modify. Only when a push finds no room is the list
// rebuilt, with room grown in proportion to its size, so a run of pushes
// costs amortized constant time per element; a list whose spare bytes
// outgrow its elements several times over (after pops) is rebuilt
// smaller. Writes in the middle (LSET to a new length, LINSERT, LREM)
// rebuild the list, as they move a listpack's bytes in Redis.
//
// The same bytes, spare ones included, are the migration record of a list.
const (
	listQuicklist = 0

	listHeaderSize = 25

	// listMinSpare is the least room a rebuilt list gets on the side that
	// ran out, so that a small list growing by pushes is not rebuilt at
	// every push.
	listMinSpare = 32
)

// listValue is a packed list. Its methods that change it write in place.
type listValue []byte

// validList reports whether b is a well-formed packed list with at least
// one element (the store never holds an empty list).
func validList(b []byte) bool {
	if len(b) < listHeaderSize || b[0] != listQuicklist {
		return false
	}
	l := listValue(b)
	n, head, tail := binary.LittleEndian.Uint64(b[1:]), binary.LittleEndian.Uint64(b[9:]), binary.LittleEndian.Uint64(b[17:])
	if n == 0 || head < listHeaderSize || head > tail || tail > uint64(len(b)) {
		return false
	}
	p, end := int(head), int(tail)
	for range n {
		if p >= end {
			return false
		}
		size, k := binary.Uvarint(b[p:end])
		if k <= 0 || uint64(end-p-k) < size || k != uvarintSize(int(size)) {
			return false
		}
		q := p + k + int(size)
		back, bk := l.uvarintBefore(q+k, p+k+int(size))
		if bk != k || back != size {
			return false
		}
		p = q + k
	}
	return p == end
}

// newList returns a packed list holding elems in order, with spare bytes
// of room at its tail.
func newList(elems [][]byte, spare int) listValue {
	size := listHeaderSize + spare
	for _, e := range elems {
		size += listElemSize(len(e))
	}
	l := make(listValue, size)
	l.setHeader(0, listHeaderSize, listHeaderSize)
	l.pushBack(elems)
	return l
}

// listElemSize is the packed size of an element of n bytes.
func listElemSize(n int) int { return 2*uvarintSize(n) + n }

// uvarintSize is the length of n's uvarint.
func uvarintSize(n int) int {
	k := 1
	for n >= 0x80 {
		n >>= 7
		k++
	}
	return k
}

// setHeader writes the count and the element bounds.
func (l listValue) setHeader(n, head, tail int) {
	l[0] = listQuicklist
	binary.LittleEndian.PutUint64(l[1:], uint64(n))
	binary.LittleEndian.PutUint64(l[9:], uint64(head))
	binary.LittleEndian.PutUint64(l[17:], uint64(tail))
}

// len returns the number of elements.
func (l listValue) len() int { return int(binary.LittleEndian.Uint64(l[1:])) }

// head returns the offset of the first element.
func (l listValue) head() int { return int(binary.LittleEndian.Uint64(l[9:])) }

// tail returns the offset just past the last element.
func (l listValue) tail() int { return int(binary.LittleEndian.Uint64(l[17:])) }

// spare returns the free bytes before the head and after the tail.
func (l listValue) spare() (front, back int) { return l.head() - listHeaderSize, len(l) - l.tail() }

// putElem writes element e at offset p and returns the offset past it.
func (l listValue) putElem(p int, e []byte) int {
	k := binary.PutUvarint(l[p:], uint64(len(e)))
	p += k
	p += copy(l[p:], e)
	for i := range k {
		l[p+i] = l[p-len(e)-1-i]
	}
	return p + k
}

// elemAt returns the element starting at offset p and the offset past it.
func (l listValue) elemAt(p int) (elem []byte, next int) {
	size, k := fastUvarint(l, p)
	p += k
	return l[p : p+size : p+size], p + size + k
}

// uvarintBefore decodes the reversed uvarint that ends at offset q, not
// reading before offset min, and returns it with its length (0 when
// malformed).
func (l listValue) uvarintBefore(q, min int) (uint64, int) {
	var v uint64
	for k := 1; k <= binary.MaxVarintLen64 && q-k >= min && q-k < len(l); k++ {
		x := l[q-k]
		v |= uint64(x&0x7f) << (7 * (k - 1))
		if x < 0x80 {
			return v, k
		}
	}
	return 0, 0
}

// elemBefore returns the element ending at offset q and its start.
func (l listValue) elemBefore(q int) (elem []byte, start int) {
	var size, k int
	if x := l[q-1]; x < 0x80 {
		size, k = int(x), 1
	} else {
		v, n := l.uvarintBefore(q, 0)
		size, k = int(v), n
	}
	end := q - k
	start = end - size - k
	return l[end-size : end : end], start
}

// each calls fn for every element from the first until it returns false.
func (l listValue) each(fn func(i int, elem []byte, start, end int) bool) {
	p := l.head()
	for i, n := 0, l.len(); i < n; i++ {
		e, next := l.elemAt(p)
		if !fn(i, e, p, next) {
			return
		}
		p = next
	}
}

// eachBack calls fn for every element from the last until it returns
// false.
func (l listValue) eachBack(fn func(i int, elem []byte, start, end int) bool) {
	q := l.tail()
	for i := l.len() - 1; i >= 0; i-- {
		e, start := l.elemBefore(q)
		if !fn(i, e, start, q) {
			return
		}
		q = start
	}
}

// offset returns the offset of element i (0 <= i < len), walking from
// the nearer end.
func (l listValue) offset(i int) int {
	n := l.len()
	if i <= n/2 {
		p := l.head()
		for range i {
			if x := l[p]; x < 0x80 { // a short element: one-byte lengths
				p += int(x) + 2
				continue
			}
			_, p = l.elemAt(p)
		}
		return p
	}
	q := l.tail()
	for range n - i {
		if x := l[q-1]; x < 0x80 {
			q -= int(x) + 2
			continue
		}
		_, q = l.elemBefore(q)
	}
	return q
}

// index returns element i (0 <= i < len).
func (l listValue) index(i int) []byte {
	e, _ := l.elemAt(l.offset(i))
	return e
}

// pushSize is the packed size of elems.
func pushSize(elems [][]byte) int {
	n := 0
	for _, e := range elems {
		n += listElemSize(len(e))
	}
	return n
}

// pushFront pushes elems at the head, one after another (so the last
// ends up first, as LPUSH does); the room must be there.
func (l listValue) pushFront(elems [][]byte) {
	head := l.head()
	for _, e := range elems {
		head -= listElemSize(len(e))
		l.putElem(head, e)
	}
	l.setHeader(l.len()+len(elems), head, l.tail())
}

// pushBack appends elems at the tail; the room must be there.
func (l listValue) pushBack(elems [][]byte) {
	tail := l.tail()
	for _, e := range elems {
		tail = l.putElem(tail, e)
	}
	l.setHeader(l.len()+len(elems), l.head(), tail)
}

// popFront removes up to n elements from the head and calls fn with each,
// in order; fn must copy what it keeps before l changes again.
func (l listValue) popFront(n int, fn func(elem []byte)) {
	n = min(n, l.len())
	p := l.head()
	for range n {
		var e []byte
		e, p = l.elemAt(p)
		fn(e)
	}
	l.setHeader(l.len()-n, p, l.tail())
}

// popBack removes up to n elements from the tail and calls fn with each,
// last first.
func (l listValue) popBack(n int, fn func(elem []byte)) {
	n = min(n, l.len())
	q := l.tail()
	for range n {
		var e []byte
		e, q = l.elemBefore(q)
		fn(e)
	}
	l.setHeader(l.len()-n, l.head(), q)
}

// keepRange keeps only elements start..end (0 <= start <= end < len).
func (l listValue) keepRange(start, end int) {
	head := l.offset(start)
	_, tail := l.elemAt(l.offset(end))
	l.setHeader(end-start+1, head, tail)
}

// relayout returns a copy of l with front and back spare bytes.
func (l listValue) relayout(front, back int) listValue {
	body := l[l.head():l.tail()]
	out := make(listValue, listHeaderSize+front+len(body)+back)
	head := listHeaderSize + front
	copy(out[head:], body)
	out.setHeader(l.len(), head, head+len(body))
	return out
}

// grown returns l with room for need more bytes at the front or back:
// that side gets them plus half the list, the other side keeps its spare
// bytes up to half the list.
func (l listValue) grown(need int, atFront bool) listValue {
	front, back := l.spare()
	live := l.tail() - l.head() + need
	extra := max(live/2, listMinSpare)
	if atFront {
		return l.relayout(need+extra, min(back, live/2))
	}
	return l.relayout(min(front, live/2), need+extra)
}

// sparse reports whether l's spare bytes are so many that it should be
// rebuilt smaller (see compacted).
func (l listValue) sparse() bool {
	front, back := l.spare()
	live := l.tail() - l.head()
	return front+back > 3*live+2*listMinSpare
}

// compacted returns l rebuilt with at most half its size of spare bytes
// on each side.
func (l listValue) compacted() listValue {
	front, back := l.spare()
	live := l.tail() - l.head()
	return l.relayout(min(front, live/2), min(back, live/2))
}

// rebuilt returns a new list of l's elements with each passed through
// edit, which returns the elements to put in its place (none to remove
// it), keeping l's spare bytes up to half the new list on each side.
func (l listValue) rebuilt(edit func(i int, elem []byte) [][]byte) listValue {
	var elems [][]byte
	l.each(func(i int, e []byte, _, _ int) bool {
		elems = append(elems, edit(i, e)...)
		return true
	})
	body := pushSize(elems)
	front, back := l.spare()
	front, back = min(front, body/2), min(back, body/2)
	out := make(listValue, listHeaderSize+front+body+back)
	out.setHeader(0, listHeaderSize+front, listHeaderSize+front)
	out.pushBack(elems)
	return out
}
