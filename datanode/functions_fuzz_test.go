package datanode

import (
	"errors"
	"slices"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/chkv/chkv/datanode/rdb"
)

// FuzzFunctionRestore restores arbitrary payload bodies (behind a valid
// footer, so that they reach the libraries' loading) with each policy:
// never a panic, and the library set stays consistent (every function
// belongs to a listed library). A library's top-level code is bounded by
// functionLoadTimeout.
func FuzzFunctionRestore(f *testing.F) {
	lib := func(code string) []byte {
		return rdb.AppendFunctionsDump(nil, [][]byte{[]byte(code)})
	}
	for _, seed := range [][]byte{
		lib("#!lua name=a\nredis.register_function('a', function() return 1 end)"),
		lib("#!lua name=b\nredis.register_function{function_name='b', callback=function() end, flags={'no-writes'}}"),
		lib("#!lua name=c\nlocal x = 1"),
		lib("#!lua name=d\nerror('x')"),
		lib("return 1"),
		{rdb.OpcodeFunctionPreGA, 1, 'e', 3, 'l', 'u', 'a', 0, 10, 'r', 'e', 't', 'u', 'r', 'n', ' ', '1', ' ', ' '},
	} {
		f.Add(seed[:len(seed)-10], uint8(0))
	}
	var fe functionEngine
	f.Fuzz(func(t *testing.T, body []byte, policy uint8) {
		codes, err := rdb.DecodeFunctionsDump(rdb.AppendFooter(slices.Clone(body), 0))
		var perr rdb.FunctionPayloadError
		if err != nil && !errors.As(err, &perr) {
			t.Fatalf("payload with a valid footer: %v", err)
		}
		if err != nil {
			return
		}
		fe.restore(codes, int(policy%3))
		set := fe.current()
		for name, fn := range set.funcs {
			found := false
			for _, l := range set.libs {
				found = found || slices.Contains(l.funcs, fn)
			}
			if !found {
				t.Fatalf("function %q of no library", name)
			}
		}
	})
}

// FuzzCMsgpackUnpack unpacks arbitrary bytes with cmsgpack.unpack,
// unpack_one and unpack_limit: an error or values, never a panic, and
// tables no bigger than the input (each element takes a byte). What
// unpack returns packs without error.
func FuzzCMsgpackUnpack(f *testing.F) {
	for _, seed := range []string{"\x93\x01\x02\x03", "\x81\xa1a\x01", "\xdd\xff\xff\xff\xff", "\xcb\x3f\xb9\x99\x99\x99\x99\x99\x9a",
		"\xd9\x02ab\xc0\xc3", "\x91\x91\x91\x91\xc0", "\xdf\x00\x00\x00\x01\xc0\x01", "\xc1"} {
		f.Add([]byte(seed))
	}
	vm := newScriptVM()
	L := vm.L
	mp := newCMsgpack(L)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, fn := range []string{"unpack", "unpack_one", "unpack_limit"} {
			top := L.GetTop()
			err := L.CallByParam(lua.P{Fn: mp.RawGetString(fn), NRet: lua.MultRet, Protect: true}, lua.LString(b), lua.LNumber(2))
			if err != nil {
				L.SetTop(top)
				continue
			}
			n := L.GetTop() - top
			if n > len(b)+1 {
				t.Fatalf("%s: %d values from %d bytes", fn, n, len(b))
			}
			args := make([]lua.LValue, 0, n)
			for i := top + 1; i <= L.GetTop(); i++ {
				args = append(args, L.Get(i))
			}
			L.SetTop(top)
			if len(args) == 0 {
				continue
			}
			if err := L.CallByParam(lua.P{Fn: mp.RawGetString("pack"), NRet: 1, Protect: true}, args...); err != nil {
				t.Fatalf("pack of what %s returned: %v", fn, err)
			}
			L.SetTop(top)
		}
	})
}
