package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strconv"
	"time"
)

// adminTimeout bounds one topic change that has to travel to the
// controller and back.
const adminTimeout = 15 * time.Second

// TopicSpec is a topic to create. Zero Partitions and ReplicationFactor take defaults.
type TopicSpec struct {
	Name              string
	Partitions        int32
	ReplicationFactor int32
	Config            map[string]int64
	// Internal allows a reserved "__" name; only the broker itself sets it.
	Internal bool
}

// TopicUpdate changes a topic: more partitions, config keys and/or a
// larger replication factor. A nil field keeps what the topic has.
type TopicUpdate struct {
	Partitions        *int32
	Config            map[string]int64
	ReplicationFactor *int32
}

// ResolvedUpdate is a TopicUpdate checked against the topic: what the topic
// becomes.
type ResolvedUpdate struct {
	Config            TopicConfig
	Partitions        int32
	ReplicationFactor int32
}

// liveBrokers is the number of brokers placement may use.
func (e *Engine) liveBrokers() int32 {
	if e.admin == nil {
		return 1
	}
	return e.admin.LiveBrokers()
}

// ResolveTopic validates spec against live brokers and fills its defaults:
// partition count, replication factor min(3, live) and the full effective
// configuration. The controller resolves every create with it.
func (e *Engine) ResolveTopic(spec TopicSpec, live int32) (TopicSpec, TopicConfig, error) {
	if spec.Internal {
		if !IsInternalTopic(spec.Name) {
			return spec, TopicConfig{}, fmt.Errorf("%w: internal topic %q must start with \"__\"", ErrInvalidTopicName, spec.Name)
		}
	} else if err := ValidateTopicName(spec.Name); err != nil {
		return spec, TopicConfig{}, err
	}
	if spec.Partitions == 0 {
		spec.Partitions = e.cfg.DefaultPartitions
	}
	if spec.Partitions < 1 || spec.Partitions > 10000 {
		return spec, TopicConfig{}, fmt.Errorf("%w: partitions must be between 1 and 10000", ErrInvalidRequest)
	}
	if spec.ReplicationFactor == 0 {
		spec.ReplicationFactor = max(1, min(3, live))
	}
	if spec.ReplicationFactor < 1 || spec.ReplicationFactor > live {
		return spec, TopicConfig{}, fmt.Errorf("%w: replication_factor %d must be between 1 and the %d live broker(s)", ErrInvalidRequest, spec.ReplicationFactor, live)
	}
	cfg, err := e.cfg.DefaultTopicConfig.Apply(spec.Config)
	return spec, cfg, err
}

// ResolveUpdate validates u against the topic's current definition and
// the live brokers, and returns what the topic becomes. The replication
// factor only grows, to at most the live brokers (replicas are added, never
// moved or removed).
func ResolveUpdate(cur TopicMetadata, u TopicUpdate, live int32) (ResolvedUpdate, error) {
	r := ResolvedUpdate{Config: cur.Config, Partitions: int32(len(cur.Partitions)), ReplicationFactor: cur.ReplicationFactor}
	if err := userTopic(cur.Name); err != nil {
		return r, err
	}
	if u.Config != nil {
		cfg, err := r.Config.Apply(u.Config)
		if err != nil {
			return r, err
		}
		r.Config = cfg
	}
	if u.Partitions != nil {
		switch p := *u.Partitions; {
		case p < r.Partitions:
			return r, fmt.Errorf("%w: %s has %d partitions, asked for %d", ErrPartitionDecrease, cur.Name, r.Partitions, p)
		case p > 10000:
			return r, fmt.Errorf("%w: partitions must be at most 10000", ErrInvalidRequest)
		default:
			r.Partitions = p
		}
	}
	if u.ReplicationFactor != nil {
		switch rf := *u.ReplicationFactor; {
		case rf < r.ReplicationFactor:
			return r, fmt.Errorf("%w: replication_factor can only grow: %s has %d, asked for %d", ErrInvalidRequest, cur.Name, r.ReplicationFactor, rf)
		case rf > live:
			return r, fmt.Errorf("%w: replication_factor %d must be at most the %d live broker(s)", ErrInvalidRequest, rf, live)
		default:
			r.ReplicationFactor = rf
		}
	}
	return r, nil
}

// CreateTopic creates a topic with a fresh id: in a cluster through the
// controller, which places its replicas; alone, on this broker.
func (e *Engine) CreateTopic(spec TopicSpec) (TopicInfo, error) {
	spec, cfg, err := e.ResolveTopic(spec, e.liveBrokers())
	if err != nil {
		return TopicInfo{}, err
	}
	if e.admin == nil {
		if err := e.createLocal(spec, cfg); err != nil {
			return TopicInfo{}, err
		}
	} else if err := e.viaAdmin(func(ctx context.Context) (uint64, error) { return e.admin.CreateTopic(ctx, spec) }); err != nil {
		return TopicInfo{}, err
	}
	e.cfg.Logger.Info("topic created", "topic", spec.Name, "partitions", spec.Partitions)
	return e.DescribeTopic(spec.Name)
}

// UpdateTopic applies u. Fewer partitions is ErrPartitionDecrease; a
// smaller replication factor, or one above the live brokers,
// ErrInvalidRequest.
func (e *Engine) UpdateTopic(name string, u TopicUpdate) (TopicInfo, error) {
	t, err := e.Topic(name)
	if err != nil {
		return TopicInfo{}, err
	}
	cur := t.metadata()
	res, err := ResolveUpdate(cur, u, e.liveBrokers())
	if err != nil {
		return TopicInfo{}, err
	}
	if e.admin == nil {
		for i := int32(len(cur.Partitions)); i < res.Partitions; i++ {
			cur.Partitions = append(cur.Partitions, e.selfPlacement())
		}
		cur.Config = res.Config
		if err := e.applyLocal(func() error { return e.applyTopic(cur) }); err != nil {
			return TopicInfo{}, err
		}
	} else if err := e.viaAdmin(func(ctx context.Context) (uint64, error) { return e.admin.UpdateTopic(ctx, name, u) }); err != nil {
		return TopicInfo{}, err
	}
	return e.DescribeTopic(name)
}

// DeleteTopic removes a topic and its data, then runs the OnTopicDeleted hooks.
func (e *Engine) DeleteTopic(name string) error {
	if err := userTopic(name); err != nil {
		return err
	}
	if _, err := e.Topic(name); err != nil && e.admin == nil {
		return err
	}
	if e.admin == nil {
		return e.applyLocal(func() error { return e.removeTopic(name) })
	}
	return e.viaAdmin(func(ctx context.Context) (uint64, error) { return e.admin.DeleteTopic(ctx, name) })
}

// EnsureTopic returns the named topic, creating it with spec when missing.
func (e *Engine) EnsureTopic(spec TopicSpec) (*Topic, error) {
	if t, err := e.Topic(spec.Name); err == nil {
		return t, nil
	}
	if _, err := e.CreateTopic(spec); err != nil && !isErr(err, ErrTopicExists) {
		return nil, err
	} else if err != nil {
		// Created meanwhile, maybe through another broker: wait until the
		// metadata that holds it arrives here.
		ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
		defer cancel()
		return e.waitTopic(ctx, spec.Name)
	}
	return e.Topic(spec.Name)
}

// viaAdmin runs a change through the cluster's Admin and waits until this
// broker has applied the metadata version it was committed at.
func (e *Engine) viaAdmin(change func(ctx context.Context) (uint64, error)) error {
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	v, err := change(ctx)
	if err != nil {
		return err
	}
	return e.WaitVersion(ctx, v)
}

// WaitVersion waits until the engine has applied metadata version v.
func (e *Engine) WaitVersion(ctx context.Context, v uint64) error {
	for {
		e.mu.RLock()
		cur, ch := e.version, e.versionCh
		e.mu.RUnlock()
		if uint64(cur) >= v {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%w: metadata version %d not applied here yet (at %d)", ErrTimeout, v, cur)
		case <-e.closed:
			return ErrClosed
		}
	}
}

// waitTopic waits until the named topic exists here.
func (e *Engine) waitTopic(ctx context.Context, name string) (*Topic, error) {
	for {
		e.mu.RLock()
		t, ch := e.topics[name], e.versionCh
		e.mu.RUnlock()
		if t != nil {
			return t, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: topic %q does not exist", ErrTopicNotFound, name)
		case <-e.closed:
			return nil, ErrClosed
		}
	}
}

func (e *Engine) selfPlacement() Placement {
	self := e.cfg.BrokerID
	return Placement{Replicas: []int32{self}, Leader: self, ISR: []int32{self}}
}

// createLocal creates a topic on an engine of its own.
func (e *Engine) createLocal(spec TopicSpec, cfg TopicConfig) error {
	md := TopicMetadata{Name: spec.Name, ID: rand.Uint64() | 1, ReplicationFactor: spec.ReplicationFactor,
		Config: cfg, CreatedMs: e.cfg.Now().UnixMilli(), Partitions: make([]Placement, spec.Partitions)}
	for i := range md.Partitions {
		md.Partitions[i] = e.selfPlacement()
	}
	return e.applyLocal(func() error {
		if _, err := e.Topic(spec.Name); err == nil {
			return fmt.Errorf("%w: topic %q already exists", ErrTopicExists, spec.Name)
		}
		return e.applyTopic(md)
	})
}

// applyLocal applies a change decided here and bumps the persisted version.
func (e *Engine) applyLocal(change func() error) error {
	e.adminMu.Lock()
	defer e.adminMu.Unlock()
	if err := change(); err != nil {
		return err
	}
	e.mu.RLock()
	v := e.version + 1
	e.mu.RUnlock()
	if err := e.db.PutMeta("metadata_version", []byte(strconv.FormatInt(v, 10))); err != nil {
		return err
	}
	e.setVersion(uint64(v))
	return nil
}

func (e *Engine) setVersion(v uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.version = int64(v)
	close(e.versionCh)
	e.versionCh = make(chan struct{})
}

// ApplyMetadata makes the engine hold exactly topics, as the metadata log
// says at version: topics it does not list are deleted with their data, a
// name with a new id is a new topic, and every partition takes its
// placement. It runs on every broker after each applied metadata change.
func (e *Engine) ApplyMetadata(version uint64, topics []TopicMetadata) error {
	e.adminMu.Lock()
	defer e.adminMu.Unlock()
	want := make(map[string]bool, len(topics))
	var errs []error
	for _, md := range topics {
		want[md.Name] = true
		if err := e.applyTopic(md); err != nil {
			errs = append(errs, err)
		}
	}
	for _, t := range e.topicList() {
		if !want[t.Name()] {
			if err := e.removeTopic(t.Name()); err != nil {
				errs = append(errs, err)
			}
		}
	}
	e.setVersion(version)
	e.fetchers.update()
	e.leadershipChanged()
	if len(errs) > 0 {
		return fmt.Errorf("engine: apply metadata %d: %v", version, errs)
	}
	return nil
}

// applyTopic makes the topic named md.Name look like md. adminMu must be held.
func (e *Engine) applyTopic(md TopicMetadata) error {
	t, _ := e.Topic(md.Name)
	if t != nil && t.ID() != md.ID {
		if err := e.removeTopic(md.Name); err != nil {
			return err
		}
		t = nil
	}
	if t == nil {
		parts, err := e.openPartitions(md.Name, md.ID, 0, md.Partitions)
		if err != nil {
			return err
		}
		nt := newTopic(metaOf(md), parts)
		if err := e.saveTopic(nt.meta); err != nil {
			return err
		}
		e.mu.Lock()
		e.addTopic(nt)
		e.mu.Unlock()
		e.topicChanged(md.Name, int32(len(md.Partitions)))
		return nil
	}
	cur := t.metadata()
	if reflect.DeepEqual(cur, md) {
		return nil
	}
	parts := t.Partitions()
	for i, p := range parts {
		if i < len(md.Partitions) {
			if err := p.setPlacement(md.Partitions[i]); err != nil {
				return err
			}
		}
	}
	added, err := e.openPartitions(md.Name, md.ID, int32(len(parts)), md.Partitions)
	if err != nil {
		return err
	}
	m := metaOf(md)
	if err := e.saveTopic(m); err != nil {
		return err
	}
	t.mu.Lock()
	t.meta = m
	t.parts = append(t.parts, added...)
	t.mu.Unlock()
	if len(added) > 0 {
		e.topicChanged(md.Name, int32(len(md.Partitions)))
	}
	return nil
}

// addTopic makes t known by name and by id. e.mu must be held (or e not
// shared yet).
func (e *Engine) addTopic(t *Topic) {
	e.topics[t.name] = t
	e.byID[t.id] = t
}

// saveTopic persists m. adminMu must be held.
func (e *Engine) saveTopic(m topicMeta) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return e.db.PutMeta(metaName(m.Name), b)
}

// removeTopic deletes a topic and its data, then runs the OnTopicDeleted
// hooks. adminMu must be held.
func (e *Engine) removeTopic(name string) error {
	t, err := e.Topic(name)
	if err != nil {
		return err
	}
	e.mu.Lock()
	delete(e.topics, name)
	delete(e.byID, t.id)
	hooks := append([]func(string){}, e.onDelete...)
	e.mu.Unlock()
	for _, p := range t.Partitions() {
		p.close()
	}
	// Wait for in-flight appends to finish before the range deletion.
	for _, p := range t.Partitions() {
		p.writeMu.Lock()
		p.writeMu.Unlock() //nolint:staticcheck // a barrier
	}
	if err := e.db.DeleteTopic(t.id, metaName(name)); err != nil {
		return err
	}
	e.metrics.dropTopic(name)
	for _, h := range hooks {
		h(name)
	}
	e.cfg.Logger.Info("topic deleted", "topic", name)
	return nil
}

// metadata returns the topic as the metadata log describes it.
func (t *Topic) metadata() TopicMetadata {
	t.mu.RLock()
	m := t.meta
	parts := append([]*Partition(nil), t.parts...)
	t.mu.RUnlock()
	md := TopicMetadata{Name: m.Name, ID: m.ID, ReplicationFactor: m.ReplicationFactor, Config: m.Config,
		CreatedMs: m.CreatedMs, Partitions: make([]Placement, len(parts))}
	for i, p := range parts {
		md.Partitions[i] = p.Placement()
	}
	return md
}

// Metadata returns the topic as the metadata log describes it.
func (t *Topic) Metadata() TopicMetadata { return t.metadata() }
