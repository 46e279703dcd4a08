package metadata

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// TestScenarios runs the scripts in testdata/. Every change goes through
// Encode and Apply at the next index (or at=N). Commands:
//
//	cluster-id NAME
//	register ID addr=A inc=I
//	unregister ID
//	create NAME id=N [rf=R partitions=P start=S shift=H] [internal] [config=(k=v,...)] [created=MS]
//	    without input, places with AssignReplicas over the registered
//	    brokers, led by the first replica with every replica in the ISR;
//	    input lines give partitions instead: replicas=(1,2) leader=1 isr=(1,2) [epoch=E] [pepoch=P]
//	update NAME id=N [config=(k=v,...)] [add=N start=S shift=H]   (or input lines to add)
//	delete NAME id=N
//	change TOPIC/P topic-id=N leader=L isr=(..) epoch=E expect=PE
//	failover live=(..) [shutting=(..)]     plans PlanFailover (a topic with
//	    config unclean.leader.election.enable=1 allows unclean elections)
//	rebalance live=(..) [shutting=(..)]    plans PlanPreferred
//	shutdown ID live=(..)                  plans PlanShutdown of broker ID
//	    (ID shutting down); each plan prints its decisions, then applies
//	    them in order and prints each entry's verdict
//	grow NAME id=N rf=R [brokers=(..)]    GrowReplication placed by
//	    ExtendReplicas over brokers (default: the registered ones); input
//	    lines give each partition's replicas instead: replicas=(1,2,3)
//	grow-internal live=(..)                plans PlanInternalGrowth,
//	    prints each command's replicas, then applies them in order
//	raw             applies the input bytes as an entry
//	state | topic NAME
//	snapshot        round-trips the state through MarshalBinary/Restore and
//	                carries on with the restored state
//	clone NAME | show-clone NAME
//
// A change prints "v=<version> ok" or the error; with the arg wire it
// prints the entry's bytes first. After every command the harness checks
// the invariants (Validate), that a refused entry changed nothing but
// Version, and that the state survives a snapshot round trip.
func TestScenarios(t *testing.T) {
	paths, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) {
			h := &harness{s: New(), clones: map[string]*State{}}
			datadriven.RunTest(t, path, h.run)
		})
	}
}

type harness struct {
	s      *State
	clones map[string]*State
}

func (h *harness) run(t *testing.T, d *datadriven.TestData) string {
	switch d.Cmd {
	case "cluster-id":
		return h.apply(t, d, SetClusterID{ClusterID: arg(t, d, 0)})
	case "register":
		c := RegisterBroker{ID: int32(num(t, arg(t, d, 0)))}
		d.ScanArgs(t, "addr", &c.HTTPAddr)
		d.ScanArgs(t, "inc", &c.Incarnation)
		return h.apply(t, d, c)
	case "unregister":
		return h.apply(t, d, UnregisterBroker{ID: int32(num(t, arg(t, d, 0)))})
	case "create":
		return h.apply(t, d, h.create(t, d))
	case "update":
		return h.apply(t, d, h.update(t, d))
	case "delete":
		c := DeleteTopic{Name: arg(t, d, 0)}
		d.ScanArgs(t, "id", &c.ID)
		return h.apply(t, d, c)
	case "change":
		return h.apply(t, d, change(t, d))
	case "failover", "rebalance", "shutdown":
		return h.plan(t, d)
	case "grow":
		return h.apply(t, d, h.grow(t, d))
	case "grow-internal":
		return h.growInternal(t, d)
	case "raw":
		return h.applyBytes(t, d, []byte(strings.TrimSpace(d.Input)))
	case "state":
		return dump(h.s)
	case "topic":
		tp, ok := h.s.Topics[arg(t, d, 0)]
		if !ok {
			return "no such topic"
		}
		return dumpTopic(tp)
	case "snapshot":
		return h.snapshot(t)
	case "clone":
		h.clones[arg(t, d, 0)] = h.s.Clone()
		return "ok"
	case "show-clone":
		return dump(h.clones[arg(t, d, 0)])
	}
	d.Fatalf(t, "unknown command %q", d.Cmd)
	return ""
}

func (h *harness) apply(t *testing.T, d *datadriven.TestData, c Command) string {
	b, err := Encode(c)
	if err != nil {
		t.Fatalf("encode %#v: %v", c, err)
	}
	out := h.applyBytes(t, d, b)
	if d.HasArg("wire") {
		out = string(b) + "\n" + out
	}
	return out
}

func (h *harness) applyBytes(t *testing.T, d *datadriven.TestData, b []byte) string {
	index := h.s.Version + 1
	d.MaybeScanArgs(t, "at", &index)
	before := h.s.Clone()
	err := h.s.Apply(index, b)
	checkEntry(t, before, h.s, index, err)
	checkSnapshot(t, h.s)
	if err != nil {
		return fmt.Sprintf("v=%d error: %v", h.s.Version, err)
	}
	return fmt.Sprintf("v=%d ok", h.s.Version)
}

// checkEntry asserts what holds after every entry: s satisfies the
// invariants, its version is the entry's index, and a refused entry
// changed nothing else.
func checkEntry(t testing.TB, before, s *State, index uint64, err error) {
	t.Helper()
	if verr := s.Validate(); verr != nil {
		t.Fatalf("after entry %d: %v\n%s", index, verr, dump(s))
	}
	want := index
	if errors.Is(err, ErrOutOfOrder) {
		want = before.Version
	}
	if s.Version != want {
		t.Fatalf("version %d after entry %d, want %d", s.Version, index, want)
	}
	if err != nil {
		unchanged := s.Clone()
		unchanged.Version = before.Version
		if !reflect.DeepEqual(unchanged, before) {
			t.Fatalf("refused entry %d (%v) changed the state:\nbefore:\n%s\nafter:\n%s", index, err, dump(before), dump(s))
		}
	}
}

// checkSnapshot asserts that s survives a snapshot round trip.
func checkSnapshot(t testing.TB, s *State) {
	t.Helper()
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	r, err := Restore(b)
	if err != nil || !reflect.DeepEqual(r, s) {
		t.Fatalf("snapshot round trip: %v\n%s\n%s", err, dump(s), b)
	}
}

// plan runs one of the controller's plans over the state and applies it.
func (h *harness) plan(t *testing.T, d *datadriven.TestData) string {
	l := Liveness{Live: map[int32]bool{}, ShuttingDown: map[int32]bool{}}
	if a, ok := d.Arg("live"); ok {
		for _, id := range ids(t, a.Vals) {
			l.Live[id] = true
		}
	}
	if a, ok := d.Arg("shutting"); ok {
		for _, id := range ids(t, a.Vals) {
			l.ShuttingDown[id] = true
		}
	}
	var ds []Decision
	switch d.Cmd {
	case "failover":
		ds = h.s.PlanFailover(l, func(t *Topic) bool { return t.Config["unclean.leader.election.enable"] == 1 })
	case "rebalance":
		ds = h.s.PlanPreferred(l)
	case "shutdown":
		id := int32(num(t, d.CmdArgs[0].Key))
		l.ShuttingDown[id] = true
		ds = h.s.PlanShutdown(id, l)
	}
	if len(ds) == 0 {
		return "no change"
	}
	var b strings.Builder
	for _, dc := range ds {
		c := dc.Change
		fmt.Fprintf(&b, "%s/%d %s: leader %d->%d epoch %d->%d isr %s->%s", c.Topic, c.Partition, dc.Reason,
			dc.From.Leader, c.Leader, dc.From.LeaderEpoch, c.LeaderEpoch, list(dc.From.ISR), list(c.ISR))
		if dc.Elected() {
			b.WriteString(" (elected)")
		}
		b.WriteString("\n")
	}
	for _, dc := range ds {
		b.WriteString(h.apply(t, d, dc.Change) + "\n")
	}
	return b.String()
}

func (h *harness) snapshot(t *testing.T) string {
	b, err := h.s.MarshalBinary()
	if err != nil {
		return "error: " + err.Error()
	}
	r, err := Restore(b)
	if err != nil {
		return "error: " + err.Error()
	}
	again, err := r.MarshalBinary()
	if err != nil {
		return "error: " + err.Error()
	}
	equal := reflect.DeepEqual(r, h.s)
	h.s = r
	return fmt.Sprintf("restored version=%d brokers=%d topics=%d equal=%t same-bytes=%t",
		r.Version, len(r.Brokers), len(r.Topics), equal, string(again) == string(b))
}

func (h *harness) create(t *testing.T, d *datadriven.TestData) CreateTopic {
	tp := Topic{Name: arg(t, d, 0), ReplicationFactor: 1, Config: map[string]int64{}}
	if name, err := strconv.Unquote(tp.Name); err == nil {
		tp.Name = name
	}
	d.ScanArgs(t, "id", &tp.ID)
	d.MaybeScanArgs(t, "rf", &tp.ReplicationFactor)
	d.MaybeScanArgs(t, "created", &tp.CreatedMs)
	tp.Internal = d.HasArg("internal")
	if a, ok := d.Arg("config"); ok {
		tp.Config = config(t, a.Vals)
	}
	if strings.TrimSpace(d.Input) != "" {
		tp.Partitions = partitions(t, d)
		return CreateTopic{Topic: tp}
	}
	n := 1
	if d.MaybeScanArgs(t, "partitions", &n); n == 0 {
		tp.Partitions = []Partition{}
		return CreateTopic{Topic: tp}
	}
	tp.Partitions = h.place(t, d, n, int(tp.ReplicationFactor), 0)
	return CreateTopic{Topic: tp}
}

func (h *harness) update(t *testing.T, d *datadriven.TestData) UpdateTopic {
	c := UpdateTopic{Name: arg(t, d, 0)}
	d.ScanArgs(t, "id", &c.ID)
	if a, ok := d.Arg("config"); ok {
		c.Config = config(t, a.Vals)
	}
	if strings.TrimSpace(d.Input) != "" {
		c.AddPartitions = partitions(t, d)
	} else if d.HasArg("add") {
		var n int
		d.ScanArgs(t, "add", &n)
		rf, have := 1, 0
		if tp, ok := h.s.Topics[c.Name]; ok {
			rf, have = int(tp.ReplicationFactor), len(tp.Partitions)
		}
		c.AddPartitions = h.place(t, d, n, rf, have)
	}
	return c
}

// place places n partitions from startPartition over the registered
// brokers, each led by its first replica with all replicas in sync.
func (h *harness) place(t *testing.T, d *datadriven.TestData, n, rf, startPartition int) []Partition {
	var start, shift int
	d.MaybeScanArgs(t, "start", &start)
	d.MaybeScanArgs(t, "shift", &shift)
	replicas, err := AssignReplicas(h.s.BrokerIDs(), n, rf, startPartition, start, shift)
	if err != nil {
		t.Fatalf("placing: %v", err)
	}
	out := make([]Partition, len(replicas))
	for i, r := range replicas {
		out[i] = Partition{Replicas: r, Leader: r[0], ISR: slices.Clone(r)}
	}
	return out
}

func (h *harness) grow(t *testing.T, d *datadriven.TestData) GrowReplication {
	c := GrowReplication{Name: arg(t, d, 0)}
	d.ScanArgs(t, "id", &c.ID)
	d.ScanArgs(t, "rf", &c.ReplicationFactor)
	if strings.TrimSpace(d.Input) != "" {
		for _, p := range partitions(t, d) {
			c.Replicas = append(c.Replicas, p.Replicas)
		}
		return c
	}
	brokers := h.s.BrokerIDs()
	if a, ok := d.Arg("brokers"); ok {
		brokers = ids(t, a.Vals)
	}
	tp, ok := h.s.Topics[c.Name]
	if !ok {
		d.Fatalf(t, "grow: no topic %q to place", c.Name)
	}
	r, err := ExtendReplicas(tp, c.ReplicationFactor, brokers)
	if err != nil {
		d.Fatalf(t, "grow: %v", err)
	}
	c.Replicas = r
	return c
}

func (h *harness) growInternal(t *testing.T, d *datadriven.TestData) string {
	a, _ := d.Arg("live")
	cs := h.s.PlanInternalGrowth(ids(t, a.Vals))
	if len(cs) == 0 {
		return "no change"
	}
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "%s rf=%d:", c.Name, c.ReplicationFactor)
		for _, r := range c.Replicas {
			b.WriteString(" " + list(r))
		}
		b.WriteString("\n")
	}
	for _, c := range cs {
		b.WriteString(h.apply(t, d, c) + "\n")
	}
	return b.String()
}

func change(t *testing.T, d *datadriven.TestData) ChangePartition {
	name, p, ok := strings.Cut(arg(t, d, 0), "/")
	if !ok {
		d.Fatalf(t, "change wants TOPIC/PARTITION")
	}
	c := ChangePartition{Topic: name, Partition: int32(num(t, p))}
	d.ScanArgs(t, "topic-id", &c.TopicID)
	d.ScanArgs(t, "leader", &c.Leader)
	d.ScanArgs(t, "epoch", &c.LeaderEpoch)
	d.ScanArgs(t, "expect", &c.ExpectPartitionEpoch)
	a, _ := d.Arg("isr")
	c.ISR = ids(t, a.Vals)
	return c
}

// partitions parses input lines: replicas=(..) leader=L isr=(..) [epoch=E] [pepoch=P].
func partitions(t *testing.T, d *datadriven.TestData) []Partition {
	var out []Partition
	for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
		_, args, err := datadriven.ParseLine("p " + line)
		if err != nil {
			d.Fatalf(t, "%s: %v", line, err)
		}
		var p Partition
		for _, a := range args {
			switch a.Key {
			case "replicas":
				p.Replicas = ids(t, a.Vals)
			case "isr":
				p.ISR = ids(t, a.Vals)
			case "leader":
				p.Leader = int32(num(t, a.Vals[0]))
			case "epoch":
				p.LeaderEpoch = int32(num(t, a.Vals[0]))
			case "pepoch":
				p.PartitionEpoch = int32(num(t, a.Vals[0]))
			default:
				d.Fatalf(t, "unknown partition field %q", a.Key)
			}
		}
		out = append(out, p)
	}
	return out
}

func ids(t *testing.T, vals []string) []int32 {
	out := []int32{}
	for _, v := range strings.Split(strings.Join(vals, ","), ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, int32(num(t, v)))
		}
	}
	return out
}

func config(t *testing.T, vals []string) map[string]int64 {
	out := map[string]int64{}
	for _, kv := range vals {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		out[k] = num(t, v)
	}
	return out
}

func arg(t *testing.T, d *datadriven.TestData, i int) string {
	if i >= len(d.CmdArgs) {
		d.Fatalf(t, "%s: missing argument %d", d.Cmd, i)
	}
	return d.CmdArgs[i].Key
}

func num(t *testing.T, s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("bad number %q", s)
	}
	return n
}

func dump(s *State) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version=%d cluster=%q\n", s.Version, s.ClusterID)
	for _, id := range s.BrokerIDs() {
		br := s.Brokers[id]
		fmt.Fprintf(&b, "broker %d addr=%s inc=%s registered=%d\n", br.ID, br.HTTPAddr, br.Incarnation, br.Registered)
	}
	for _, name := range s.TopicNames() {
		b.WriteString(dumpTopic(s.Topics[name]))
	}
	return b.String()
}

func dumpTopic(tp *Topic) string {
	var b strings.Builder
	var cfg []string
	for _, k := range slices.Sorted(maps.Keys(tp.Config)) {
		cfg = append(cfg, fmt.Sprintf("%s=%d", k, tp.Config[k]))
	}
	fmt.Fprintf(&b, "topic %s id=%d rf=%d", tp.Name, tp.ID, tp.ReplicationFactor)
	if tp.Internal {
		b.WriteString(" internal")
	}
	fmt.Fprintf(&b, " created=%d config=(%s)\n", tp.CreatedMs, strings.Join(cfg, ","))
	for i, p := range tp.Partitions {
		fmt.Fprintf(&b, "  %s/%d replicas=%s leader=%d epoch=%d isr=%s pepoch=%d\n",
			tp.Name, i, list(p.Replicas), p.Leader, p.LeaderEpoch, list(p.ISR), p.PartitionEpoch)
	}
	return b.String()
}

func list(ids []int32) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(int(id))
	}
	return "(" + strings.Join(s, ",") + ")"
}
