// Package drainprogress holds the one description of a DataNode's drain,
// shared by the node's drain port (datanode/drainport), the SDK's
// Admin.WaitDrained and chkvctl drain.
package drainprogress

// Progress is a snapshot of a node's drain.
type Progress struct {
	Node        string // the node's ID
	State       string // the node's state: "up", "joining", "draining", "drained", "standalone", ...
	Draining    bool   // a drain has been started
	Done        bool   // the node owns no slots and has nothing in flight: it can be stopped
	SlotsTotal  int    // slots the node owned when the drain began
	SlotsLeft   int    // slots it still owns
	SlotsMoving int    // slots being moved right now
	StuckSlots  int    // slots whose move keeps failing
	KeysMoved   int64  // keys handed off so far
	BytesMoved  int64  // bytes handed off so far
}

// SlotsMoved is SlotsTotal-SlotsLeft, within [0, SlotsTotal].
func (p Progress) SlotsMoved() int {
	return min(max(p.SlotsTotal-p.SlotsLeft, 0), max(p.SlotsTotal, 0))
}

// Percent is the share of the slots moved, from 0 to 100; with no slots
// to move it is 100.
func (p Progress) Percent() float64 {
	if p.SlotsTotal <= 0 {
		return 100
	}
	return 100 * float64(p.SlotsMoved()) / float64(p.SlotsTotal)
}
