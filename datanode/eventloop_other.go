//go:build !linux

package datanode

import (
	"errors"
	"net"
)

// epollSupported reports whether IOModelEpoll is available.
const epollSupported = false

// defaultIOModel is DefaultIOModel: without epoll, a goroutine per client.
const defaultIOModel = IOModelGoroutine

// eventLoop exists only on Linux; Validate refuses IOModelEpoll elsewhere.
type eventLoop struct{}

func (s *Server) startLoops() error {
	return errors.New("datanode: the epoll io model is only available on Linux")
}

func loopable(net.Conn) bool { return false }

func (s *Server) handOff(nc net.Conn) bool {
	nc.Close()
	return true
}

func (l *eventLoop) stop() {}
