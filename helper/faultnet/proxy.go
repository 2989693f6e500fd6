package faultnet

import (
	"io"
	"net"
	"sync"
	"time"
)

// proxyDialTimeout bounds the proxy's dial of its target.
const proxyDialTimeout = 5 * time.Second

// Proxy forwards TCP connections from its own loopback address to a target
// over a Link, so a test can cut or slow the path between two processes it
// does not control: point one at the proxy's Addr instead of the target.
type Proxy struct {
	ln     net.Listener
	target string
	link   *Link
	wg     sync.WaitGroup
}

// NewProxy listens on a free loopback port and forwards each connection to
// target over link until Close.
func NewProxy(target string, link *Link) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: link.Listener(ln), target: target, link: link}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr is the address to connect to instead of the target.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Close stops accepting, closes every forwarded connection and waits for
// the proxy's goroutines.
func (p *Proxy) Close() {
	p.ln.Close()
	p.link.Cut()
	p.wg.Wait()
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.forward(in)
		}()
	}
}

// forward pipes in to a new connection to the target, both on the link,
// until either side ends or the link is cut.
func (p *Proxy) forward(in net.Conn) {
	defer in.Close()
	raw, err := net.DialTimeout("tcp", p.target, proxyDialTimeout)
	if err != nil {
		return
	}
	out, err := p.link.Wrap(raw)
	if err != nil {
		return
	}
	defer out.Close()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		io.Copy(dst, src)
		// Ending one direction ends both: a half-open forward would hide a
		// cut from the side that only reads.
		in.Close()
		out.Close()
		done <- struct{}{}
	}
	go pipe(out, in)
	go pipe(in, out)
	<-done
	<-done
}
