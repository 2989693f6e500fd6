package datanode

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// bitModel is a bitmap as a math/big integer: bit i of the model is bit i
// of the string (the most significant bit of byte 0 first), with the
// string's length in bytes kept apart.
type bitModel struct {
	bits big.Int
	n    int64 // length in bytes
}

func (m *bitModel) get(i int64) int64 { return int64(m.bits.Bit(int(i))) }

func (m *bitModel) set(i int64, on uint) int64 {
	prev := m.get(i)
	m.bits.SetBit(&m.bits, int(i), on)
	m.n = max(m.n, i/8+1)
	return prev
}

// bytes renders the model as the string Redis would hold.
func (m *bitModel) bytes() []byte {
	out := make([]byte, m.n)
	for i := range m.n * 8 {
		if m.get(i) == 1 {
			out[i/8] |= 0x80 >> (i % 8)
		}
	}
	return out
}

// fromBytes sets the model to the string v.
func (m *bitModel) fromBytes(v []byte) {
	m.bits.SetInt64(0)
	m.n = int64(len(v))
	for i := range m.n * 8 {
		if v[i/8]&(0x80>>(i%8)) != 0 {
			m.bits.SetBit(&m.bits, int(i), 1)
		}
	}
}

// modelRange clamps a BITCOUNT/BITPOS range by its definition: indexes
// from the end when negative, in bits or bytes.
func (m *bitModel) modelRange(start, end int64, isBit bool) (int64, int64, bool) {
	size := m.n
	if isBit {
		size *= 8
	}
	if start < 0 {
		start = max(start+size, 0)
	}
	if end < 0 {
		end = max(end+size, 0)
	}
	end = min(end, size-1)
	if start > end {
		return 0, 0, false
	}
	if isBit {
		return start, end, true
	}
	return start * 8, end*8 + 7, true
}

// TestBitmapRandomModel runs seeded random SETBIT, GETBIT, BITCOUNT,
// BITPOS and BITOP on a DataNode and checks every reply against a
// math/big model.
func TestBitmapRandomModel(t *testing.T) {
	c := startServer(t, nil).dial(t)
	rng := rand.New(rand.NewPCG(11, 12))
	keys := []string{"{m}a", "{m}b", "{m}c"}
	models := map[string]*bitModel{}
	for _, k := range keys {
		models[k] = &bitModel{}
	}
	unit := func() (string, bool) {
		switch rng.IntN(3) {
		case 0:
			return "", false
		case 1:
			return "BYTE", false
		}
		return "BIT", true
	}
	for step := range 4000 {
		k := keys[rng.IntN(len(keys))]
		m := models[k]
		var cmd []string
		var want string
		switch rng.IntN(6) {
		case 0, 1:
			off := int64(rng.IntN(300))
			on := uint(rng.IntN(2))
			cmd = []string{"SETBIT", k, fmt.Sprint(off), fmt.Sprint(on)}
			want = fmt.Sprintf("(integer) %d", m.set(off, on))
		case 2:
			off := int64(rng.IntN(320))
			cmd = []string{"GETBIT", k, fmt.Sprint(off)}
			want = fmt.Sprintf("(integer) %d", m.get(off))
		case 3:
			start, end := int64(rng.IntN(90)-45), int64(rng.IntN(90)-45)
			u, isBit := unit()
			cmd = []string{"BITCOUNT", k, fmt.Sprint(start), fmt.Sprint(end)}
			if u != "" {
				cmd = append(cmd, u)
			}
			var n int64
			if first, last, ok := m.modelRange(start, end, isBit); ok && !(start < 0 && end < 0 && start > end) {
				for i := first; i <= last; i++ {
					n += m.get(i)
				}
			}
			if m.n == 0 {
				n = 0
			}
			want = fmt.Sprintf("(integer) %d", n)
		case 4:
			bit := int64(rng.IntN(2))
			start, end := int64(rng.IntN(90)-45), int64(rng.IntN(90)-45)
			u, isBit := unit()
			withEnd := rng.IntN(2) == 0 || u != ""
			cmd = []string{"BITPOS", k, fmt.Sprint(bit), fmt.Sprint(start)}
			if withEnd {
				cmd = append(cmd, fmt.Sprint(end))
			} else if isBit {
				end = m.n*8 - 1
			} else {
				end = m.n - 1
			}
			if u != "" {
				cmd = append(cmd, u)
			}
			pos := int64(-1)
			switch first, last, ok := m.modelRange(start, end, isBit); {
			case m.n == 0:
				pos = -bit
			case !ok:
			default:
				for i := first; i <= last; i++ {
					if m.get(i) == bit {
						pos = i
						break
					}
				}
				if pos < 0 && bit == 0 && !withEnd {
					pos = last + 1
				}
			}
			want = fmt.Sprintf("(integer) %d", pos)
		case 5:
			op := []string{"AND", "OR", "XOR", "NOT"}[rng.IntN(4)]
			srcs := []string{keys[rng.IntN(3)]}
			if op != "NOT" {
				srcs = append(srcs, keys[rng.IntN(3)])
			}
			cmd = append([]string{"BITOP", op, k}, srcs...)
			var res big.Int
			var n int64
			for i, s := range srcs {
				sm := models[s]
				n = max(n, sm.n)
				switch {
				case op == "NOT":
					res.Not(&sm.bits)
				case i == 0:
					res.Set(&sm.bits)
				case op == "AND":
					res.And(&res, &sm.bits)
				case op == "OR":
					res.Or(&res, &sm.bits)
				case op == "XOR":
					res.Xor(&res, &sm.bits)
				}
			}
			mask := new(big.Int).Lsh(big.NewInt(1), uint(n*8))
			mask.Sub(mask, big.NewInt(1))
			m.bits.And(&res, mask)
			m.n = n
			want = fmt.Sprintf("(integer) %d", n)
		}
		if got := c.do(cmd...); got != want {
			t.Fatalf("step %d: %s\n got: %s\nwant: %s", step, strings.Join(cmd, " "), got, want)
		}
		if step%97 == 0 {
			got := c.do("GET", k)
			want := "(nil)"
			if m.n > 0 {
				want = strconv.Quote(string(m.bytes()))
			}
			if got != want {
				t.Fatalf("step %d: GET %s\n got: %s\nwant: %s", step, k, got, want)
			}
		}
	}
}

// TestBitmapRandomAgainstRedis runs random BITFIELD, BITPOS, BITCOUNT and
// LCS calls on a DataNode and a real Redis and requires identical replies:
// the overflow arithmetic and range clamping are compared case by case.
func TestBitmapRandomAgainstRedis(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	key := func() string { return fmt.Sprintf("{r}%d", rng.IntN(3)) }
	typ := func() string {
		if rng.IntN(2) == 0 {
			return fmt.Sprintf("u%d", 1+rng.IntN(63))
		}
		return fmt.Sprintf("i%d", 1+rng.IntN(64))
	}
	num := func() string {
		switch rng.IntN(4) {
		case 0:
			return fmt.Sprint(rng.Int64())
		case 1:
			return fmt.Sprint(-rng.Int64())
		}
		return fmt.Sprint(rng.IntN(2000) - 1000)
	}
	var cmds []string
	for range 2500 {
		var c []string
		switch rng.IntN(5) {
		case 0, 1:
			c = []string{"BITFIELD", key()}
			for range 1 + rng.IntN(4) {
				off := fmt.Sprint(rng.IntN(100))
				if rng.IntN(4) == 0 {
					off = "#" + fmt.Sprint(rng.IntN(5))
				}
				switch rng.IntN(4) {
				case 0:
					c = append(c, "GET", typ(), off)
				case 1:
					c = append(c, "SET", typ(), off, num())
				case 2:
					c = append(c, "INCRBY", typ(), off, num())
				case 3:
					c = append(c, "OVERFLOW", []string{"WRAP", "SAT", "FAIL"}[rng.IntN(3)])
				}
			}
		case 2:
			c = []string{"BITPOS", key(), fmt.Sprint(rng.IntN(2)), fmt.Sprint(rng.IntN(40) - 20), fmt.Sprint(rng.IntN(200) - 100),
				[]string{"BIT", "BYTE"}[rng.IntN(2)]}
			c = c[:3+rng.IntN(4)]
		case 3:
			c = []string{"BITCOUNT", key(), fmt.Sprint(rng.IntN(40) - 20), fmt.Sprint(rng.IntN(200) - 100),
				[]string{"BIT", "BYTE"}[rng.IntN(2)]}
			c = c[:2+rng.IntN(2)*(2+rng.IntN(2))]
		case 4:
			c = []string{"LCS", key(), key(), "IDX", "WITHMATCHLEN", "MINMATCHLEN", fmt.Sprint(rng.IntN(3))}
		}
		cmds = append(cmds, strings.Join(c, " "))
	}
	diffAgainstRedis(t, cmds, nil)
}

// TestBitScansAgainstNaive checks findBit and countBits, which work a word
// or four at a time, against bit-by-bit loops on random long strings.
func TestBitScansAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for range 3000 {
		v := make([]byte, 1+rng.IntN(200))
		fill := []byte{0, 0xff}[rng.IntN(2)]
		for i := range v {
			v[i] = fill
		}
		for range rng.IntN(3) {
			v[rng.IntN(len(v))] = byte(rng.IntN(256))
		}
		n := int64(len(v)) * 8
		first := rng.Int64N(n)
		last := first + rng.Int64N(n-first)
		for bit := byte(0); bit < 2; bit++ {
			want := int64(-1)
			for i := first; i <= last; i++ {
				if getBit(v, i) == bit {
					want = i
					break
				}
			}
			if got := findBit(v, bit, first, last); got != want {
				t.Fatalf("findBit(%x, %d, %d, %d) = %d, want %d", v, bit, first, last, got, want)
			}
		}
		var want int64
		for i := first; i <= last; i++ {
			want += int64(getBit(v, i))
		}
		if got := countBits(v, first, last); got != want {
			t.Fatalf("countBits(%x, %d, %d) = %d, want %d", v, first, last, got, want)
		}
	}
}
