package membership

import "sort"

// Status of a broker as seen by membership.
const (
	StatusAlive   = "alive"
	StatusSuspect = "suspect"
	StatusFailed  = "failed"
	StatusLeft    = "left"
)

// Broker is one member of the cluster.
type Broker struct {
	ID       int32
	HTTPAddr string
	Status   string
	// Incarnation is the UUID made when the broker's data dir was formatted:
	// a new one means the broker came back with an empty disk. Local leaves
	// it empty.
	Incarnation string
}

// Live reports whether the broker is a member in good standing: alive, or
// alive but suspected (missed probes, not yet declared failed). Decisions
// that a flapping probe must not move, such as placement, use Live.
func (b Broker) Live() bool {
	return b.Status == StatusAlive || b.Status == StatusSuspect
}

// Local is the membership of a one-broker cluster.
type Local struct {
	self Broker
}

// NewLocal returns the view of a cluster that is just this broker.
func NewLocal(id int32, httpAddr string) *Local {
	return &Local{self: Broker{ID: id, HTTPAddr: httpAddr, Status: StatusAlive}}
}

// Self is this broker.
func (l *Local) Self() Broker { return l.self }

// Brokers lists every known broker by id.
func (l *Local) Brokers() []Broker {
	bs := []Broker{l.self}
	sort.Slice(bs, func(i, j int) bool { return bs[i].ID < bs[j].ID })
	return bs
}

// ControllerID is the id of the broker acting as controller: the lowest live id.
func (l *Local) ControllerID() int32 {
	for _, b := range l.Brokers() {
		if b.Live() {
			return b.ID
		}
	}
	return -1
}
