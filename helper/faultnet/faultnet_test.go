package faultnet

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// echoServer echoes every connection ln accepts until the test ends, then
// closes ln and the connections and waits for its goroutines.
func echoServer(t *testing.T, ln net.Listener) {
	t.Helper()
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		conns  []net.Conn
		closed bool // set by the cleanup; later connections are closed at once
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if closed {
				mu.Unlock()
				c.Close()
				return
			}
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				io.Copy(c, c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		closed = true
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
}

func roundTrip(c net.Conn) error {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("ping")); err != nil {
		return err
	}
	buf := make([]byte, 4)
	_, err := io.ReadFull(c, buf)
	return err
}

func TestCutAndRestore(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	echoServer(t, ln)
	link := NewLink()
	dial := link.Dialer()
	c, err := dial(context.Background(), ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(c); err != nil {
		t.Fatalf("healthy link: %v", err)
	}
	link.Cut()
	if err := roundTrip(c); err == nil {
		t.Fatal("round trip succeeded over a cut link")
	}
	if _, err := dial(context.Background(), ln.Addr().String()); !errors.Is(err, ErrCut) {
		t.Fatalf("dial on cut link: %v, want ErrCut", err)
	}
	link.Restore()
	c2, err := dial(context.Background(), ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(c2); err != nil {
		t.Fatalf("restored link: %v", err)
	}
}

func TestListenerSideCut(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	link := NewLink()
	echoServer(t, link.Listener(raw))
	c, err := net.Dial("tcp", raw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(c); err != nil {
		t.Fatalf("healthy: %v", err)
	}
	link.Cut()
	if err := roundTrip(c); err == nil {
		t.Fatal("accepted connection survived the cut")
	}
}

func TestDelay(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	echoServer(t, ln)
	link := NewLink()
	link.SetDelay(50 * time.Millisecond)
	c, err := link.Dialer()(context.Background(), ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := roundTrip(c); err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed < 50*time.Millisecond {
		t.Fatalf("delayed link answered in %v", elapsed)
	}
}
