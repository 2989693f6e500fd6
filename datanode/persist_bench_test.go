package datanode

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// BenchmarkLoadRDB measures loading a file of small string keys at start.
func BenchmarkLoadRDB(b *testing.B) {
	const keys = 300000
	dir := b.TempDir()
	src, err := New(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	for i := range keys {
		k := []byte("key:" + strconv.Itoa(i))
		sl := src.keySlot(k)
		sl.Lock()
		err := sl.Set(k, []byte("value:"+strconv.Itoa(i)), 0, 0)
		sl.Unlock()
		if err != nil {
			b.Fatal(err)
		}
	}
	src.settings.Load().Dir = dir
	if !src.beginSave(false) {
		b.Fatal("beginSave")
	}
	if err := src.saveRDB(b.Context()); err != nil {
		b.Fatal(err)
	}
	src.store.Close()
	if _, err := os.Stat(filepath.Join(dir, "dump.rdb")); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		cfg := DefaultConfig()
		cfg.Settings.Dir = dir
		s, err := New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.loadRDB(); err != nil {
			b.Fatal(err)
		}
		if s.store.Len() != keys {
			b.Fatalf("loaded %d keys", s.store.Len())
		}
		s.store.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*keys), "ns/key")
}
