package client

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/chkv/chkv/client/clienttest"
	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/datanode"
	"github.com/chkv/chkv/helper/fakenamenode"
)

// Every key written through the client is on its owner and nowhere else.
func TestRoutingKeysLandOnOwner(t *testing.T) {
	cl := newCluster(t, 3)
	c := newClient(t, []string{cl.nn.Addr()})
	ctx := testCtx(t)
	topo := c.Topology()

	const n = 300
	perNode := make([]int, len(cl.dns))
	for i := range n {
		k := fmt.Sprintf("key:%d", i)
		if err := c.Set(ctx, k, "v"+k); err != nil {
			t.Fatalf("Set %s: %v", k, err)
		}
		perNode[topo.Owners[slot.OfString(k)]]++
	}
	for i, addr := range cl.addrs {
		rc := direct(t, addr)
		if got, err := rc.DBSize(ctx).Result(); err != nil || got != int64(perNode[i]) {
			t.Errorf("node %d holds %d keys (%v), want %d", i, got, err, perNode[i])
		}
		if perNode[i] == 0 {
			t.Errorf("node %d owns none of %d keys: the split is not exercised", i, n)
		}
	}
	for i := range n {
		k := fmt.Sprintf("key:%d", i)
		owner := topo.Owners[slot.OfString(k)]
		for j, addr := range cl.addrs {
			v, err := direct(t, addr).Get(ctx, k).Result()
			if (j == owner) != (err == nil) || (err == nil && v != "v"+k) {
				t.Fatalf("key %s (owner %d) on node %d: %q, %v", k, owner, j, v, err)
			}
		}
		if v, err := c.Get(ctx, k); err != nil || v != "v"+k {
			t.Fatalf("Get %s = %q, %v", k, v, err)
		}
	}
}

func TestCommands(t *testing.T) {
	cl := newCluster(t, 3)
	c := newClient(t, []string{cl.nn.Addr()})
	ctx := testCtx(t)

	if _, err := c.Get(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get missing: %v, want ErrNotFound", err)
	}
	if err := c.Set(ctx, "a", "1", NX()); err != nil {
		t.Errorf("Set NX new: %v", err)
	}
	if err := c.Set(ctx, "a", "2", NX()); !errors.Is(err, ErrNotSet) {
		t.Errorf("Set NX existing: %v, want ErrNotSet", err)
	}
	if err := c.Set(ctx, "b", "1", XX()); !errors.Is(err, ErrNotSet) {
		t.Errorf("Set XX missing: %v, want ErrNotSet", err)
	}
	if err := c.Set(ctx, "a", "3", XX(), WithTTL(time.Minute)); err != nil {
		t.Errorf("Set XX existing: %v", err)
	}
	if v, _ := c.Get(ctx, "a"); v != "3" {
		t.Errorf("a = %q, want 3", v)
	}
	if d, err := c.TTL(ctx, "a"); err != nil || d <= 59*time.Second || d > time.Minute {
		t.Errorf("TTL a = %v, %v, want about 1m", d, err)
	}
	if err := c.Set(ctx, "a", "x", NX(), XX()); !errors.Is(err, ErrInvalid) {
		t.Errorf("NX+XX: %v, want ErrInvalid", err)
	}
	if err := c.Set(ctx, "a", "x", WithTTL(0)); !errors.Is(err, ErrInvalid) {
		t.Errorf("TTL 0: %v, want ErrInvalid", err)
	}
	if err := c.Set(ctx, "p", "v"); err != nil {
		t.Fatal(err)
	}
	if d, err := c.TTL(ctx, "p"); err != nil || d != NoExpiry {
		t.Errorf("TTL persistent = %v, %v, want NoExpiry", d, err)
	}
	if _, err := c.TTL(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("TTL missing: %v, want ErrNotFound", err)
	}
	if ok, err := c.Expire(ctx, "p", 50*time.Millisecond); err != nil || !ok {
		t.Errorf("Expire = %v, %v", ok, err)
	}
	if ok, err := c.Expire(ctx, "nope", time.Second); err != nil || ok {
		t.Errorf("Expire missing = %v, %v, want false", ok, err)
	}
	if n, err := c.Incr(ctx, "n"); err != nil || n != 1 {
		t.Errorf("Incr = %d, %v", n, err)
	}
	if n, err := c.IncrBy(ctx, "n", 41); err != nil || n != 42 {
		t.Errorf("IncrBy = %d, %v", n, err)
	}
	var se *ServerError
	if err := c.Set(ctx, "s", "abc"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Incr(ctx, "s"); !errors.As(err, &se) || se.Prefix() != "ERR" {
		t.Errorf("Incr of a non-integer: %v, want a ServerError ERR", err)
	}
	if n, err := c.Exists(ctx, "a", "n", "nope", "a"); err != nil || n != 3 {
		t.Errorf("Exists = %d, %v, want 3", n, err)
	}
	if n, err := c.Del(ctx, "a", "n", "nope"); err != nil || n != 2 {
		t.Errorf("Del = %d, %v, want 2", n, err)
	}
	if _, err := c.Del(ctx); !errors.Is(err, ErrInvalid) {
		t.Errorf("Del of no keys: %v, want ErrInvalid", err)
	}
}

// MGet and MSet span slots on every node and keep the order of the keys.
func TestMGetMSetAcrossSlots(t *testing.T) {
	cl := newCluster(t, 3)
	c := newClient(t, []string{cl.nn.Addr()})
	ctx := testCtx(t)
	topo := c.Topology()

	values := make(map[string]string)
	var keys []string
	for i := range 200 {
		k := fmt.Sprintf("m:%d", i)
		if i%3 == 0 {
			k = fmt.Sprintf("{tag}:%d", i) // many keys of one slot
		}
		keys = append(keys, k)
		if i%4 != 0 {
			values[k] = "v" + k
		}
	}
	if err := c.MSet(ctx, values); err != nil {
		t.Fatalf("MSet: %v", err)
	}
	nodes := map[int]bool{}
	for k := range values {
		nodes[topo.Owners[slot.OfString(k)]] = true
		if v, err := direct(t, cl.addrs[topo.Owners[slot.OfString(k)]]).Get(ctx, k).Result(); err != nil || v != values[k] {
			t.Fatalf("owner of %s holds %q, %v", k, v, err)
		}
	}
	if len(nodes) != 3 {
		t.Fatalf("keys span %d nodes, want 3", len(nodes))
	}
	ask := append([]string{"absent", keys[1]}, keys...)
	got, err := c.MGet(ctx, ask...)
	if err != nil {
		t.Fatalf("MGet: %v", err)
	}
	if len(got) != len(ask) {
		t.Fatalf("MGet returned %d values for %d keys", len(got), len(ask))
	}
	for i, k := range ask {
		want, ok := values[k]
		if got[i].Found != ok || got[i].Val != want {
			t.Errorf("MGet[%d] %s = %+v, want %q found=%v", i, k, got[i], want, ok)
		}
	}
	if n, err := c.Exists(ctx, keys...); err != nil || n != int64(len(values)) {
		t.Errorf("Exists = %d, %v, want %d", n, err, len(values))
	}
	if n, err := c.Del(ctx, keys...); err != nil || n != int64(len(values)) {
		t.Errorf("Del = %d, %v, want %d", n, err, len(values))
	}
	if got, err := c.MGet(ctx); err != nil || len(got) != 0 {
		t.Errorf("MGet() = %v, %v", got, err)
	}
}

// A pipeline's results come back in the order the commands were queued,
// whatever node each went to.
func TestPipelineInOrder(t *testing.T) {
	cl := newCluster(t, 3)
	c := newClient(t, []string{cl.nn.Addr()})
	ctx := testCtx(t)

	p := c.Pipeline()
	const n = 100
	for i := range n {
		p.Set(fmt.Sprintf("p:%d", i), fmt.Sprintf("v%d", i))
	}
	p.Set("p:0", "again", NX())
	p.Set("bad", "x", WithTTL(-time.Second))
	res, err := p.Exec(ctx)
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("Exec error = %v, want the invalid Set's", err)
	}
	if len(res) != n+2 || p.Len() != 0 {
		t.Fatalf("%d results, queue %d", len(res), p.Len())
	}
	for i := range n {
		if res[i].Err != nil {
			t.Fatalf("Set %d: %v", i, res[i].Err)
		}
	}
	if !errors.Is(res[n].Err, ErrNotSet) || !errors.Is(res[n+1].Err, ErrInvalid) {
		t.Errorf("NX result %v, invalid result %v", res[n].Err, res[n+1].Err)
	}

	for i := n - 1; i >= 0; i-- {
		p.Get(fmt.Sprintf("p:%d", i))
	}
	p.Get("none")
	p.Incr("ctr")
	p.IncrBy("ctr", 9)
	p.Expire("p:1", time.Minute)
	p.TTL("p:1")
	p.TTL("p:2")
	p.Exists("p:3")
	p.Del("p:3")
	p.Exists("p:3")
	res, err = p.Exec(ctx)
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	for i := range n {
		want := fmt.Sprintf("v%d", n-1-i)
		if v, err := res[i].Text(); err != nil || v != want {
			t.Fatalf("result %d = %q, %v, want %q", i, v, err, want)
		}
	}
	tail := res[n:]
	if _, err := tail[0].Text(); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get none: %v", err)
	}
	if v, err := tail[1].Int(); v != 1 || err != nil {
		t.Errorf("Incr = %d, %v", v, err)
	}
	if v, err := tail[2].Int(); v != 10 || err != nil {
		t.Errorf("IncrBy = %d, %v", v, err)
	}
	if v, err := tail[3].Bool(); !v || err != nil {
		t.Errorf("Expire = %v, %v", v, err)
	}
	if d, err := tail[4].Duration(); err != nil || d < 59*time.Second {
		t.Errorf("TTL = %v, %v", d, err)
	}
	if d, err := tail[5].Duration(); err != nil || d != NoExpiry {
		t.Errorf("TTL persistent = %v, %v", d, err)
	}
	for i, want := range []int64{1, 1, 0} {
		if v, err := tail[6+i].Int(); v != want || err != nil {
			t.Errorf("exists/del/exists[%d] = %d, %v, want %d", i, v, err, want)
		}
	}
	if _, err := tail[1].Text(); !errors.Is(err, ErrInvalid) {
		t.Errorf("Text of an Incr: %v, want ErrInvalid", err)
	}
	if res, err := p.Exec(ctx); err != nil || len(res) != 0 {
		t.Errorf("empty Exec = %v, %v", res, err)
	}
}

// Config.Password authenticates every DataNode connection.
func TestPassword(t *testing.T) {
	dn := clienttest.StartDataNode(t, func(c *datanode.Config) { c.Settings.RequirePass = "pw" })
	nn := fakenamenode.New(t)
	nn.Push(clienttest.Split(1, 1, dn.Addr().String()))
	ctx := testCtx(t)
	for _, tc := range []struct {
		password string
		ok       bool
	}{{"pw", true}, {"", false}, {"wrong", false}} {
		c, err := New(ctx, Config{NameNodes: []string{nn.Addr()}, Password: tc.password})
		if err != nil {
			t.Fatal(err)
		}
		err = c.Set(ctx, "k", "v")
		c.Close()
		if (err == nil) != tc.ok {
			t.Errorf("password %q: Set = %v", tc.password, err)
		}
	}
}
