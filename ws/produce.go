package ws

import (
	"context"

	"github.com/fjord-streaming/fjord/api/wire"
)

// produce appends the records of a produce message and answers with an ack
// frame carrying what REST answers: one offsets entry per record in request
// order (failed partitions carry an error instead of an offset), or
// "accepted" with acks=0. When nothing was written the answer is an error
// frame. It runs on the connection's worker.
func (c *conn) produce(m clientMessage) {
	if err := c.allow("topic", m.Topic, "write"); err != nil {
		c.sendError(m.ID, err)
		return
	}
	in, err := wire.DecodeRecordsArray(m.RecordsJSON, wire.Limits{})
	if err != nil {
		c.sendError(m.ID, err)
		return
	}
	recs := in
	ctx, cancel := context.WithTimeout(c.ctx, m.Timeout)
	defer cancel()
	results, err := c.srv.engine.Produce(ctx, m.Topic, recs, m.Acks)
	if err != nil {
		c.sendError(m.ID, err)
		return
	}
	c.send(ackFrame(m.ID, m.Acks, results))
}
