package metadata

import (
	"bytes"
	"reflect"
	"testing"
)

// seedEntries are encoded commands of every op, valid against sample.
func seedEntries(t testing.TB) [][]byte {
	var out [][]byte
	for _, c := range []Command{
		SetClusterID{ClusterID: "prod"},
		RegisterBroker{ID: 2, HTTPAddr: "b2:8080", Incarnation: "wiped"},
		UnregisterBroker{ID: 4},
		CreateTopic{Topic: Topic{Name: "n", ID: 7, ReplicationFactor: 2, Config: map[string]int64{"a": 1},
			Partitions: []Partition{{Replicas: []int32{3, 1}, Leader: 3, ISR: []int32{3, 1}}}}},
		UpdateTopic{Name: "orders", ID: 81, Config: map[string]int64{"b": 2},
			AddPartitions: []Partition{{Replicas: []int32{1, 3}, Leader: 1, ISR: []int32{1}}}},
		DeleteTopic{Name: "__offsets", ID: 2},
		ChangePartition{Topic: "orders", TopicID: 81, Partition: 0, Leader: 2, ISR: []int32{2}, LeaderEpoch: 1},
		GrowReplication{Name: "__offsets", ID: 2, ReplicationFactor: 2, Replicas: [][]int32{{3, 1}}},
	} {
		b, err := Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzDecode: Decode never panics, and what it accepts encodes back to
// an entry that decodes to the same command.
func FuzzDecode(f *testing.F) {
	for _, b := range seedEntries(f) {
		f.Add(b)
	}
	f.Add([]byte(`{"v":1,"op":"update_topic","name":"t","id":1,"config":null,"add_partitions":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Decode(b)
		if err != nil {
			return
		}
		again, err := Encode(c)
		if err != nil {
			t.Fatalf("decoded %s, cannot encode: %v", b, err)
		}
		c2, err := Decode(again)
		if err != nil || !reflect.DeepEqual(c, c2) {
			t.Fatalf("%s -> %#v -> %s -> %#v, %v", b, c, again, c2, err)
		}
	})
}

// maxEntries bounds the entries one fuzz input applies: every entry checks
// the whole state, so longer runs only get slower.
const maxEntries = 64

// FuzzApply applies arbitrary bytes, split at newlines into entries, to a
// populated state: nothing panics, and after every entry the invariants
// hold and a refused entry changed nothing but Version; at the end the
// state survives a snapshot round trip.
func FuzzApply(f *testing.F) {
	seeds := seedEntries(f)
	for _, b := range seeds {
		f.Add(b)
	}
	f.Add(bytes.Join(seeds, []byte("\n")))
	base := sample(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		s := base.Clone()
		entries := bytes.Split(in, []byte("\n"))
		for _, entry := range entries[:min(len(entries), maxEntries)] {
			before, index := s.Clone(), s.Version+1
			err := s.Apply(index, entry)
			checkEntry(t, before, s, index, err)
		}
		checkSnapshot(t, s)
	})
}

// FuzzCommands drives the state machine with commands built from the fuzz
// input over a few brokers, topics and epochs, so that most of them are
// nearly valid and reach deep states: the same checks as FuzzApply.
func FuzzCommands(f *testing.F) {
	f.Add([]byte{1, 2, 0, 3, 3, 7, 1, 6, 0, 1, 3, 2, 1, 0, 5})
	f.Add([]byte{3, 0, 2, 2, 0x33, 3, 1, 1, 1, 0, 2, 1, 0, 3, 4, 6, 1})
	base := sample(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		s := base.Clone()
		g := &gen{in: in}
		for n := 0; g.more() && n < maxEntries; n++ {
			c := g.command()
			before, index := s.Clone(), s.Version+1
			if b, err := Encode(c); err == nil {
				err = s.Apply(index, b)
				checkEntry(t, before, s, index, err)
			}
		}
		checkSnapshot(t, s)
	})
}

// gen turns bytes into commands; past the end of its input it reads zeros.
type gen struct {
	in []byte
	i  int
}

func (g *gen) more() bool { return g.i < len(g.in) }

func (g *gen) byte() byte {
	if g.i >= len(g.in) {
		return 0
	}
	g.i++
	return g.in[g.i-1]
}

func (g *gen) broker() int32 { return int32(g.byte()%6) - 1 } // -1..4
func (g *gen) name() string  { return []string{"orders", "__offsets", "n", ""}[g.byte()%4] }
func (g *gen) id() uint64    { return []uint64{81, 2, 7, 0}[g.byte()%4] }
func (g *gen) epoch() int32  { return int32(g.byte() % 8) }

func (g *gen) brokers() []int32 {
	out := []int32{}
	for n := g.byte() % 4; n > 0; n-- {
		out = append(out, g.broker())
	}
	return out
}

func (g *gen) partition() Partition {
	return Partition{Replicas: g.brokers(), Leader: g.broker(), ISR: g.brokers(), LeaderEpoch: g.epoch(), PartitionEpoch: g.epoch()}
}

func (g *gen) partitions() []Partition {
	out := []Partition{}
	for n := g.byte() % 3; n > 0; n-- {
		out = append(out, g.partition())
	}
	return out
}

func (g *gen) command() Command {
	inc := []string{"one", "two", "three", "x"}
	switch g.byte() % 7 {
	case 0:
		return SetClusterID{ClusterID: []string{"prod", "", "other"}[g.byte()%3]}
	case 1:
		return RegisterBroker{ID: g.broker(), HTTPAddr: "h", Incarnation: inc[g.byte()%4]}
	case 2:
		return UnregisterBroker{ID: g.broker()}
	case 3:
		return CreateTopic{Topic: Topic{Name: g.name(), ID: g.id(), ReplicationFactor: int32(g.byte() % 4), Partitions: g.partitions()}}
	case 4:
		c := UpdateTopic{Name: g.name(), ID: g.id(), AddPartitions: g.partitions()}
		if g.byte()%2 == 0 {
			c.Config = map[string]int64{"k": int64(g.byte())}
		}
		return c
	case 5:
		return DeleteTopic{Name: g.name(), ID: g.id()}
	default:
		return ChangePartition{Topic: g.name(), TopicID: g.id(), Partition: int32(g.byte()%3) - 1,
			Leader: g.broker(), ISR: g.brokers(), LeaderEpoch: g.epoch(), ExpectPartitionEpoch: g.epoch()}
	}
}
