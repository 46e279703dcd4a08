package group

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// chooser draws the next random choice; *rand.Rand and fuzz input both do.
type chooser interface{ IntN(n int) int }

// bytesChooser reads choices from fuzz input, then zeros.
type bytesChooser struct{ b []byte }

func (c *bytesChooser) IntN(n int) int {
	if len(c.b) == 0 {
		return 0
	}
	v := int(c.b[0])
	c.b = c.b[1:]
	return v % n
}

// sim plays random member behaviour against a Coordinator, modelling what
// each client believes it owns: the assignment in the newest response it
// was handed. Responses may be delivered late (they sit in flight), and a
// client ignores a response older than the one it already has.
type sim struct {
	t        testing.TB
	r        chooser
	assignor string
	c        *Coordinator
	now      time.Time
	next     int
	beliefs  map[string]Assignment
	inflight []flight
	topics   map[string]int32
}

type flight struct {
	member string
	a      Assignment
}

var simTopics = []string{"a", "b", "c"}

func newSim(t testing.TB, r chooser, assignor string) *sim {
	c, err := NewCoordinator("g", Config{})
	if err != nil {
		t.Fatal(err)
	}
	s := &sim{t: t, r: r, assignor: assignor, c: c, now: time.UnixMilli(0), beliefs: map[string]Assignment{}, topics: map[string]int32{}}
	for _, tp := range simTopics {
		s.setTopic(tp, int32(r.IntN(6)))
	}
	return s
}

func (s *sim) setTopic(topic string, n int32) {
	s.topics[topic] = n
	s.c.UpdateTopics(map[string]int32{topic: n})
}

// step performs one random action.
func (s *sim) step() {
	ids := s.c.memberIDs()
	pick := func() string { return ids[s.r.IntN(len(ids))] }
	switch op := s.r.IntN(12); {
	case op < 2 || len(ids) == 0:
		s.join()
	case op == 2:
		id := pick()
		must(s.t, s.c.Leave(id))
		s.forget(id)
	case op == 3:
		must(s.t, s.c.Heartbeat(pick(), s.now))
	case op == 4:
		s.now = s.now.Add(time.Duration(s.r.IntN(3000)) * time.Millisecond)
		for _, id := range s.c.Tick(s.now) {
			s.forget(id)
		}
	case op == 5:
		tp := simTopics[s.r.IntN(len(simTopics))]
		s.setTopic(tp, int32(s.r.IntN(8)))
	case op <= 7:
		s.send(pick())
	case op <= 9:
		s.deliver()
	case op == 10:
		s.send(pick())
		s.deliver()
	default:
		s.commit(pick())
	}
}

func (s *sim) join() {
	s.next++
	id := fmt.Sprintf("m%02d", s.next)
	var topics []string
	for _, t := range simTopics {
		if s.r.IntN(2) == 0 {
			topics = append(topics, t)
		}
	}
	if len(topics) == 0 {
		topics = simTopics[:1]
	}
	timeout := time.Duration(1000+s.r.IntN(5000)) * time.Millisecond
	a, err := s.c.Join(MemberSpec{ID: id, Topics: topics, SessionTimeout: timeout, Assignor: s.assignor}, s.now)
	must(s.t, err)
	s.beliefs[id] = a
}

// send computes a response for a member and puts it in flight.
func (s *sim) send(id string) {
	a, err := s.c.Assignment(id)
	must(s.t, err)
	s.inflight = append(s.inflight, flight{id, a})
}

// deliver hands one in-flight response to its member.
func (s *sim) deliver() {
	if len(s.inflight) == 0 {
		return
	}
	i := s.r.IntN(len(s.inflight))
	f := s.inflight[i]
	s.inflight = slices.Delete(s.inflight, i, i+1)
	if _, live := s.beliefs[f.member]; !live {
		return
	}
	if _, err := s.c.Observe(f.member, f.a.Generation); err != nil {
		s.t.Fatal(err)
	}
	if f.a.Generation >= s.beliefs[f.member].Generation {
		s.beliefs[f.member] = f.a
	}
}

// commit: a member may commit every partition it believes it owns.
func (s *sim) commit(id string) {
	var cs []OffsetCommit
	for _, tp := range s.beliefs[id].Partitions {
		cs = append(cs, OffsetCommit{TopicPartition: tp, Offset: int64(s.r.IntN(100)), HighWatermark: 100})
	}
	if _, err := s.c.Commit(id, cs, s.now); err != nil && !errors.Is(err, ErrUnknownPartition) {
		s.t.Fatalf("member %s cannot commit what it was handed: %v", id, err)
	}
}

// forget drops a member that left or expired: it is no longer live.
func (s *sim) forget(id string) {
	delete(s.beliefs, id)
}

// checkSafety: no partition is believed owned, or effectively assigned, by
// two live members.
func (s *sim) checkSafety() {
	believed, effective := map[TopicPartition]string{}, map[TopicPartition]string{}
	for _, id := range s.c.memberIDs() {
		a, err := s.c.Assignment(id)
		must(s.t, err)
		exclusive(s.t, effective, id, a.Partitions, "assigned")
		exclusive(s.t, believed, id, s.beliefs[id].Partitions, "believed")
	}
}

func exclusive(t testing.TB, seen map[TopicPartition]string, id string, tps []TopicPartition, what string) {
	for _, tp := range tps {
		if other, ok := seen[tp]; ok {
			t.Fatalf("%s %s by both %s and %s", tp, what, other, id)
		}
		seen[tp] = id
	}
}

// settle has every member observe the current generation, then checks that
// the group is stable and every partition of a subscribed topic is assigned
// exactly once, to a subscriber.
func (s *sim) settle() {
	for _, id := range s.c.memberIDs() {
		s.send(id)
		s.inflight = s.inflight[len(s.inflight)-1:]
		s.deliver()
	}
	if st := s.c.State(); len(s.beliefs) > 0 && st != StateStable {
		s.t.Fatalf("state %s after everybody observed", st)
	}
	owner := map[TopicPartition]string{}
	for _, id := range s.c.memberIDs() {
		a, _ := s.c.Assignment(id)
		exclusive(s.t, owner, id, a.Partitions, "assigned")
		for _, tp := range a.Partitions {
			if !slices.Contains(s.c.members[id].topics, tp.Topic) {
				s.t.Fatalf("%s assigned to %s, not subscribed", tp, id)
			}
		}
	}
	for _, tp := range simTopics {
		if !s.c.subscribed(tp) {
			continue
		}
		for p := range s.topics[tp] {
			if _, ok := owner[TopicPartition{tp, p}]; !ok {
				s.t.Fatalf("%s/%d unassigned after everybody observed", tp, p)
			}
		}
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func runSim(t testing.TB, r chooser, assignor string, steps int) {
	s := newSim(t, r, assignor)
	for i := range steps {
		s.step()
		s.checkSafety()
		if i%50 == 49 {
			s.settle()
			s.checkSafety()
		}
	}
	s.settle()
}

// TestCoordinatorSafetyRandom plays random histories: after every step no
// partition has two live owners, and once everybody has observed the
// current generation every partition is assigned exactly once.
func TestCoordinatorSafetyRandom(t *testing.T) {
	for _, name := range []string{AssignorRange, AssignorRoundRobin, AssignorSticky} {
		t.Run(name, func(t *testing.T) {
			for seed := range uint64(200) {
				runSim(t, rand.New(rand.NewPCG(seed, 7)), name, 300)
			}
		})
	}
}

// FuzzCoordinatorSafety is TestCoordinatorSafetyRandom driven by fuzz input.
func FuzzCoordinatorSafety(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})
	f.Add([]byte("the quick brown fox jumps over the lazy dog, twice over"))
	f.Fuzz(func(t *testing.T, data []byte) {
		assignor := []string{AssignorRange, AssignorRoundRobin, AssignorSticky}[len(data)%3]
		runSim(t, &bytesChooser{data}, assignor, len(data))
	})
}
