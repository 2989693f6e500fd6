package migration

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc"

	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/proto/chkvpb"
)

// stallTimeout cuts a migration stream on which no send has progressed
// for this long.
const stallTimeout = 10 * time.Second

// outStream is a Migrate stream to one target, with a receiver goroutine
// that forwards the target's replies.
type outStream struct {
	stream  chkvpb.DataNode_MigrateClient
	cancel  context.CancelFunc
	replies chan *chkvpb.MigrateResponse
	done    chan struct{} // closed when the receiver returns
	stall   *time.Timer   // cancels the stream when no send progresses
}

func (g *Migrator) dial(addr string) (*grpc.ClientConn, error) {
	if c, ok := g.conns.Load(addr); ok {
		return c.(*grpc.ClientConn), nil
	}
	conn, err := grpc.NewClient(addr, g.cfg.DialOptions...)
	if err != nil {
		return nil, err
	}
	if c, loaded := g.conns.LoadOrStore(addr, conn); loaded {
		conn.Close()
		return c.(*grpc.ClientConn), nil
	}
	return conn, nil
}

func (g *Migrator) openStream(ctx context.Context, to topology.Node) (*outStream, error) {
	conn, err := g.dial(to.GRPCAddr)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	st := &outStream{cancel: cancel, replies: make(chan *chkvpb.MigrateResponse, 4*groupSlots), done: make(chan struct{})}
	st.stall = time.AfterFunc(stallTimeout, cancel)
	if st.stream, err = chkvpb.NewDataNodeClient(conn).Migrate(sctx); err != nil {
		st.stall.Stop()
		cancel()
		return nil, err
	}
	if !g.cfg.Group.Go(func(context.Context) { st.receive() }) {
		st.stall.Stop()
		cancel()
		return nil, errStopped
	}
	return st, nil
}

func (st *outStream) receive() {
	defer close(st.done)
	for {
		resp, err := st.stream.Recv()
		if err != nil {
			st.cancel()
			return
		}
		select {
		case st.replies <- resp:
		default:
			// The worker reads one reply per slot of a group; replies
			// beyond that are stale.
		}
	}
}

func (st *outStream) send(req *chkvpb.MigrateRequest) error {
	st.stall.Reset(stallTimeout)
	return st.stream.Send(req)
}

func (st *outStream) broken() bool {
	select {
	case <-st.done:
		return true
	default:
		return false
	}
}

func (st *outStream) close() {
	st.stall.Stop()
	st.cancel()
	<-st.done
}

// sendErr returns the error a failed Send stands for: the stream's status
// when the target ended it.
func (st *outStream) sendErr(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	_, rerr := st.stream.Header()
	if rerr != nil {
		return rerr
	}
	return err
}
