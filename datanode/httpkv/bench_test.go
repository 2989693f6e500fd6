package httpkv_test

import (
	"context"
	"io"
	"net/http"
	"testing"
)

// BenchmarkGet reads one small key over the HTTP API and over RESP from the
// same standalone DataNode, in parallel, to compare the two paths:
//
//	go test -run '^$' -bench Get -cpu 2 ./datanode/httpkv/
func BenchmarkGet(b *testing.B) {
	n := startNode(b, nil)
	if err := n.rdb.Set(context.Background(), "k", "value", 0).Err(); err != nil {
		b.Fatal(err)
	}
	b.Run("HTTP", func(b *testing.B) {
		cl := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
		defer cl.CloseIdleConnections()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				resp, err := cl.Get(n.base + "/v1/kv/k")
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		})
	})
	b.Run("RESP", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := n.rdb.Get(context.Background(), "k").Err(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
