// Package group runs a component's goroutines under one owner.
//
// A Group counts the goroutines it starts, refuses new ones once it is
// stopping, and Stop returns only when every one of them has returned, as
// etcd's GoAttach and cockroach's Stopper do.
package group

import (
	"context"
	"sync"
)

// Group owns a set of goroutines that share one cancellation.
type Group struct {
	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	wg     sync.WaitGroup
	closed bool
}

// New returns a Group whose goroutines see a context derived from parent.
func New(parent context.Context) *Group {
	ctx, cancel := context.WithCancel(parent)
	return &Group{ctx: ctx, cancel: cancel}
}

// Context returns the context that is cancelled when the group stops.
func (g *Group) Context() context.Context { return g.ctx }

// Go runs fn in a new goroutine owned by the group and reports whether it
// was started; after Stop has begun it starts nothing and returns false.
func (g *Group) Go(fn func(ctx context.Context)) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		fn(g.ctx)
	}()
	return true
}

// Stop cancels the group's context and waits for its goroutines to return.
// It is safe to call more than once and from several goroutines.
func (g *Group) Stop() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.cancel()
	g.wg.Wait()
}
