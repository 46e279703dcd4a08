package engine

// partitionKey names one partition of one topic incarnation.
type partitionKey struct {
	topic     string
	id        uint64
	partition int32
}

// OnLeadershipChanged registers fn to run whenever this broker starts or
// stops leading a partition, as applied metadata says (a deleted topic's
// partitions stop too). fn runs while metadata is being applied: it must
// return quickly and must not call the engine's admin methods; queue the
// work instead. The group coordinator uses it to load the groups of an
// __consumer_offsets partition it starts leading and to drop those of one
// it stops leading.
func (e *Engine) OnLeadershipChanged(fn func(topic string, partition int32, leading bool)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.onLead = append(e.onLead, fn)
}

// leadershipChanged compares what this broker leads with what it led after
// the previous metadata change and runs the OnLeadershipChanged hooks for
// the differences. adminMu must be held.
func (e *Engine) leadershipChanged() {
	now := map[partitionKey]bool{}
	for _, t := range e.topicList() {
		for _, p := range t.Partitions() {
			if p.Leading() && !p.Closed() {
				now[partitionKey{t.Name(), t.ID(), p.Index()}] = true
			}
		}
	}
	e.mu.RLock()
	hooks := append([]func(string, int32, bool){}, e.onLead...)
	e.mu.RUnlock()
	for k := range e.led {
		if !now[k] {
			for _, h := range hooks {
				h(k.topic, k.partition, false)
			}
		}
	}
	for k := range now {
		if !e.led[k] {
			for _, h := range hooks {
				h(k.topic, k.partition, true)
			}
		}
	}
	e.led = now
}
