package snapshot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/datanode/rdb"
	"github.com/chkv/chkv/datanode/store"
)

// encodeStrings is an Encoder for stores of strings only.
func encodeStrings(dst []byte, _ store.Type, v []byte) []byte { return rdb.AppendString(dst, v) }

// testNow is the clock of these tests.
var testNow = time.UnixMilli(1_800_000_000_000)

// fill stores n string keys, every third with a TTL, and one expired key.
func fill(t testing.TB, st *store.Store, n int) map[string]string {
	t.Helper()
	now := testNow.UnixMilli()
	want := map[string]string{}
	put := func(k, v string, exp int64) {
		sl := st.Slot(slot.Of([]byte(k)))
		sl.Lock()
		defer sl.Unlock()
		if err := sl.Set([]byte(k), []byte(v), exp, now); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		k, v := fmt.Sprintf("key:%d", i), strings.Repeat(fmt.Sprint(i), 1+i%40)
		exp := int64(0)
		if i%3 == 0 {
			exp = now + int64(i+1)*1000
			v += "@ttl"
		}
		put(k, v, exp)
		want[k] = v
	}
	put("123", "an integer-encoded key", 0)
	want["123"] = "an integer-encoded key"
	return want
}

// writeFile writes st to a file in dir and returns its bytes.
func writeFile(t testing.TB, st *store.Store, dir string) []byte {
	t.Helper()
	path := filepath.Join(dir, "dump.rdb")
	err := SaveFile(path, func(f *os.File) error {
		_, err := Write(context.Background(), f, Options{Store: st, Encode: encodeStrings, RedisVersion: "7.0.0", Now: testNow})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWriteLoadRoundTrip(t *testing.T) {
	st := store.New(store.Config{})
	defer st.Close()
	want := fill(t, st, 2000)
	data := writeFile(t, st, t.TempDir())
	got := map[string]string{}
	ls, err := Load(data, testNow.UnixMilli(), func(e Entry) error {
		if e.Value.Kind != rdb.KindString {
			return fmt.Errorf("kind %d", e.Value.Kind)
		}
		if (e.ExpireAt != 0) != strings.HasSuffix(string(e.Value.Elems[0]), "@ttl") {
			return fmt.Errorf("key %s: expiry %d", e.Key, e.ExpireAt)
		}
		got[string(e.Key)] = string(e.Value.Elems[0])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if ls.Keys != int64(len(want)) || len(got) != len(want) {
		t.Fatalf("loaded %d keys (stats %d), want %d", len(got), ls.Keys, len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("key %s = %q, want %q", k, got[k], v)
		}
	}
	// Later, the keys with a TTL have expired and are skipped.
	ls, err = Load(data, testNow.Add(time.Hour).UnixMilli(), func(Entry) error { return nil })
	if err != nil || ls.Expired != 667 || ls.Keys != int64(len(want))-667 {
		t.Fatalf("load an hour later: %+v, %v", ls, err)
	}
}

// TestWriteCheckRDB runs redis-check-rdb on a written file.
func TestWriteCheckRDB(t *testing.T) {
	path, err := exec.LookPath("redis-check-rdb")
	if err != nil {
		t.Skip("redis-check-rdb not installed")
	}
	st := store.New(store.Config{})
	defer st.Close()
	fill(t, st, 500)
	dir := t.TempDir()
	writeFile(t, st, dir)
	out, err := exec.Command(path, filepath.Join(dir, "dump.rdb")).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("RDB looks OK")) {
		t.Fatalf("redis-check-rdb: %v\n%s", err, out)
	}
}

// TestLoadRejectsDamage checks that every truncation and every flipped
// byte of a file is refused with an error, and that nothing is stored
// from a file whose checksum is wrong.
func TestLoadRejectsDamage(t *testing.T) {
	st := store.New(store.Config{})
	defer st.Close()
	fill(t, st, 50)
	data := writeFile(t, st, t.TempDir())
	now := testNow.UnixMilli()
	for n := range len(data) {
		if _, err := Load(data[:n], now, func(Entry) error { return nil }); err == nil {
			t.Fatalf("a file truncated to %d of %d bytes loaded", n, len(data))
		}
	}
	for i := range len(data) - 8 { // the last 8 bytes are the checksum itself
		bad := bytes.Clone(data)
		bad[i] ^= 0x5a
		stored := 0
		_, err := Load(bad, now, func(Entry) error { stored++; return nil })
		if err == nil {
			t.Fatalf("a file with byte %d flipped loaded", i)
		}
		if stored != 0 {
			t.Fatalf("byte %d flipped: %d keys stored before the error %v", i, stored, err)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		data string
		want error
	}{
		{"", ErrNotRDB},
		{"REDIS", ErrNotRDB},
		{"RUBIS0010\xff", ErrNotRDB},
		{"REDIS0011\xff", ErrVersion},
		{"REDIS0010", ErrTruncated},
		{"REDIS0010\xff", ErrTruncated}, // no checksum
		{"REDIS0010\xfe\x01", ErrUnsupported},
		{"REDIS0010\x0f\x01k", ErrUnsupported}, // a stream
		{"REDIS0010\xf5", ErrUnsupported},      // a function library
		{"REDIS0010\x00\x01k\x7f", ErrTruncated},
	} {
		_, err := Load([]byte(tc.data), 0, func(Entry) error { return nil })
		if !errors.Is(err, tc.want) {
			t.Errorf("Load(%q) = %v, want %v", tc.data, err, tc.want)
		}
	}
	// A checksum of 0 is not checked (rdbchecksum no).
	if _, err := Load([]byte("REDIS0010\xff\x00\x00\x00\x00\x00\x00\x00\x00"), 0, func(Entry) error { return nil }); err != nil {
		t.Errorf("empty file without a checksum: %v", err)
	}
}

// TestSaveFileFailureKeepsOld checks that a write that fails midway leaves
// the previous file whole and no temporary file behind.
func TestSaveFileFailureKeepsOld(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dump.rdb")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk on fire")
	err := SaveFile(path, func(f *os.File) error {
		if _, err := f.WriteString("half a new fi"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("SaveFile = %v, want %v", err, boom)
	}
	assertOnly(t, dir, "dump.rdb", "old")
	// A rename that fails (the target is a directory) removes the
	// temporary file too.
	dir2 := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir2, "dump.rdb"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir2, "dump.rdb", "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := SaveFile(filepath.Join(dir2, "dump.rdb"), func(f *os.File) error { _, err := f.WriteString("new"); return err }); err == nil {
		t.Fatal("SaveFile over a directory succeeded")
	}
	if ents, _ := os.ReadDir(dir2); len(ents) != 1 {
		t.Fatalf("left %d entries in the directory, want the target only", len(ents))
	}
}

// assertOnly checks that dir holds only name, with contents want.
func assertOnly(t *testing.T, dir, name, want string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != name {
		t.Fatalf("directory holds %v, want only %s", ents, name)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, name)); string(b) != want {
		t.Fatalf("%s = %q, want %q", name, b, want)
	}
}

// TestWriteAborted checks that a cancelled context stops a save.
func TestWriteAborted(t *testing.T) {
	st := store.New(store.Config{})
	defer st.Close()
	fill(t, st, 10)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := Write(ctx, &bytes.Buffer{}, Options{Store: st, Encode: encodeStrings, AfterSlot: func(i int) {
		if i == 100 {
			cancel()
		}
	}})
	if !errors.Is(err, ErrSaveAborted) {
		t.Fatalf("Write = %v, want ErrSaveAborted", err)
	}
}

// FuzzLoad checks that no input makes Load panic or loop, seeded with a
// real file and its damaged variants.
func FuzzLoad(f *testing.F) {
	st := store.New(store.Config{})
	fill(f, st, 20)
	data := writeFile(f, st, f.TempDir())
	st.Close()
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add([]byte("REDIS0010\xfa\x09redis-ver\x057.0.0\xfe\x00\xfb\x01\x00\x00\x01k\x01v\xff\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		Load(b, 0, func(e Entry) error { //nolint:errcheck // only panics matter
			if e.Key == nil && len(e.Value.Elems) == 0 {
				t.Fatal("empty entry")
			}
			return nil
		})
	})
}
