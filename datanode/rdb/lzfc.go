package rdb

import "sync"

// LZF compression as Redis's lzf_c.c does it (HLOG 16, VERY_FAST): a
// hash of the next three bytes finds an earlier occurrence within 8 kB;
// matches of 3 to 264 bytes become back references, everything else
// literal runs of up to 32 bytes.
const (
	lzfHashLog = 16
	lzfMaxLit  = 1 << 5
	lzfMaxOff  = 1 << 13
	lzfMaxRef  = 1<<8 + 1<<3
)

// lzfTable is a compressor's hash table: each slot holds the generation
// of the compression that wrote it and a position, so a table is reused
// without clearing.
type lzfTable struct {
	gen   uint32
	slots [1 << lzfHashLog]uint64
}

// lzfTables pools hash tables across compressions.
var lzfTables = sync.Pool{New: func() any { return new(lzfTable) }}

// lzfIdx is lzf_c.c's IDX for VERY_FAST, on 32-bit arithmetic as in C.
func lzfIdx(h uint32) uint32 {
	return ((h >> (3*8 - lzfHashLog)) - h*5) & (1<<lzfHashLog - 1)
}

// lzfCompress appends in, compressed, to dst, and reports false when the
// compressed form would exceed outLen bytes (then dst is unchanged).
func lzfCompress(dst, in []byte, outLen int) ([]byte, bool) {
	if len(in) == 0 || outLen == 0 {
		return dst, false
	}
	t := lzfTables.Get().(*lzfTable)
	defer lzfTables.Put(t)
	t.gen++
	if t.gen == 0 { // wrapped: old slots could look current
		clear(t.slots[:])
		t.gen = 1
	}
	set := func(h uint32, pos int) { t.slots[lzfIdx(h)] = uint64(t.gen)<<32 | uint64(pos) }
	base := len(dst)
	out := append(dst, 0) // the first literal run's length byte
	op := func() int { return len(out) - base }
	lit := 0
	ip, end := 0, len(in)
	hval := uint32(in[0])<<8 | uint32(in[min(1, end-1)])
	for ip < end-2 {
		hval = hval<<8 | uint32(in[ip+2])
		slot := &t.slots[lzfIdx(hval)]
		ref, fresh := int(uint32(*slot)), uint32(*slot>>32) == t.gen
		*slot = uint64(t.gen)<<32 | uint64(ip)
		if off := ip - ref - 1; fresh && off >= 0 && off < lzfMaxOff && ref > 0 &&
			in[ref+2] == in[ip+2] && in[ref] == in[ip] && in[ref+1] == in[ip+1] {
			maxLen := min(end-ip-2, lzfMaxRef)
			if op()+3+1 >= outLen && op()-boolInt(lit == 0)+3+1 >= outLen {
				return dst, false
			}
			out[len(out)-lit-1] = byte(lit - 1) // stop the run
			if lit == 0 {
				out = out[:len(out)-1] // undo an empty run
			}
			matched := lzfMatch(in, ref, ip, maxLen)
			length := matched - 2
			ip++
			if length < 7 {
				out = append(out, byte(off>>8+length<<5))
			} else {
				out = append(out, byte(off>>8+7<<5), byte(length-7))
			}
			out = append(out, byte(off), 0) // and start a run
			lit = 0
			ip += length + 1
			if ip >= end-2 {
				break
			}
			ip -= 2
			hval = uint32(in[ip])<<8 | uint32(in[ip+1])
			hval = hval<<8 | uint32(in[ip+2])
			set(hval, ip)
			ip++
			hval = hval<<8 | uint32(in[ip+2])
			set(hval, ip)
			ip++
			continue
		}
		if op() >= outLen {
			return dst, false
		}
		out = append(out, in[ip])
		ip++
		if lit++; lit == lzfMaxLit {
			out[len(out)-lit-1] = byte(lit - 1)
			lit = 0
			out = append(out, 0)
		}
	}
	if op()+3 > outLen {
		return dst, false
	}
	for ; ip < end; ip++ {
		out = append(out, in[ip])
		if lit++; lit == lzfMaxLit {
			out[len(out)-lit-1] = byte(lit - 1)
			lit = 0
			out = append(out, 0)
		}
	}
	out[len(out)-lit-1] = byte(lit - 1) // end the run
	if lit == 0 {
		out = out[:len(out)-1]
	}
	return out, true
}

// boolInt is 1 for true, 0 for false.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// lzfMatch returns how many bytes from in[ip:] repeat those from in[ref:],
// three known to, as lzf_c.c counts them: its unrolled first 16 steps do
// not stop at maxLen.
func lzfMatch(in []byte, ref, ip, maxLen int) int {
	n := 2
	if maxLen > 16 {
		for range 16 {
			n++
			if in[ref+n] != in[ip+n] {
				return n
			}
		}
	}
	for {
		n++
		if n >= maxLen || in[ref+n] != in[ip+n] {
			return n
		}
	}
}
