// Package ws serves fjord's WebSocket endpoint, GET /ws: subscriptions to a
// partition, to every partition of a topic, or as a consumer-group member,
// and produce, as JSON text frames on one socket (API.md, section WebSocket).
//
// # Protocol
//
// Every client message is one JSON object with an op and a client-chosen
// id, echoed in the broker's frames about it:
//
//	{"op":"subscribe","id":"s1","topic":"orders","partition":0,"offset":"earliest","credits":100}
//	{"op":"subscribe","id":"s2","topic":"orders","offset":"latest"}        every partition, added ones too
//	{"op":"subscribe","id":"s3","group":"billing","topics":["orders"],"auto_offset_reset":"earliest"}
//	{"op":"credit","id":"s1","records":1000}
//	{"op":"commit","id":"s3"}                   or with "offsets":[{"topic","partition","offset"}]
//	{"op":"unsubscribe","id":"s1"}
//	{"op":"produce","id":"p1","topic":"orders","acks":"1","records":[...as REST...]}
//
// The broker answers with frames of a type:
//
//	{"type":"subscribed","id":"s1"}
//	{"type":"records","id":"s1","records":[{"topic","partition","offset","timestamp","key","value","headers"}]}
//	{"type":"assignment","id":"s3","generation":4,"assignments":[{"topic":"orders","partition":0}]}
//	{"type":"committed","id":"s3","offsets":[{"topic","partition","offset"}]}
//	{"type":"ack","id":"p1","offsets":[{"partition","offset","timestamp"}]}   acks=0: {"accepted":N}
//	{"type":"unsubscribed","id":"s1"}           nothing of s1 follows it
//	{"type":"error","id":"s1","code":"topic_not_found","message":"..."}
//
// Decoding is strict: malformed JSON, an unknown op, a missing or duplicate
// id, members an op does not take, unknown members, and credits below 1 are
// each answered with an error frame (code invalid_request, the id when it
// could be read) and change nothing else on the socket. Error codes come
// from api/problem, the table REST uses, and so does "appended":true on a
// produce's error (the leader stored the records, not enough replicas
// acknowledged them). An offset is a number, "earliest"
// or "latest" (the default). A numeric offset outside a partition's
// [log start, high watermark] is offset_out_of_range. Subscribing to a
// missing topic is topic_not_found and never creates it; produce creates it
// like REST does. /ws?topic=…&offset=…[&partition=…][&group=…][&credits=…]
// subscribes at connect as id "default" (with group, offset is the
// auto_offset_reset).
//
// # Delivery
//
// A log subscription sleeps on its partitions' high-watermark channels
// (engine.Partition.HighWatermarkChanged) and reads as soon as records are
// committed; records ready together share one records frame (up to
// Config.FrameRecords and about Config.FrameBytes, several partitions
// mixed). Records of a partition arrive in offset order without gaps or
// duplicates. A whole-topic subscription picks up partitions added later
// (it checks the topic's partitions whenever the metadata version moves)
// and reads them from their log start. If retention deletes records before
// they were delivered, or the topic is deleted, the subscription ends with
// an error frame rather than skip records.
//
// A group subscription is one member of the group (Groups). It gets an
// assignment frame at start and whenever its generation or partitions
// change, before any records of the new assignment. Commit without offsets
// commits the positions after the records whose frames were written to the
// socket; nothing is committed automatically, so delivery is at-least-once
// across rebalances. The member leaves when the subscription or the socket
// ends. Fetches and, without credits, heartbeats keep it alive; a client
// that stops reading so long that the send queue stays full past the
// session timeout loses its membership (an error frame member_not_found),
// as a Kafka consumer does past max.poll.interval.ms.
//
// # Flow control and memory
//
// Each subscription has credits (1000 unless the subscribe message says
// "credits"); each record sent spends one and credit messages add more.
// A subscription with no credits reads nothing, so the broker never sends
// more records than granted.
//
// Each connection has one writer goroutine and a send queue bounded in
// bytes. A subscription reserves room (Config.WriteQueueBytes, default
// 1 MiB, shared by the connection's subscriptions) before it reads from
// the log, so a client that stops reading stops the reads: the backlog stays
// in storage, not in memory. Answers (acks, errors, subscribed, ...) are
// queued without waiting; if the queue grows past twice the budget because
// the client sends requests but does not read answers, the connection is
// closed with 1008 and a reason. A frame write that does not finish within
// Config.WriteTimeout drops the connection. So one connection holds at most
// about 2 x WriteQueueBytes of frames plus one oversized record per
// subscription, besides one client message being read (at most
// Config.MaxFrameBytes, 64 MiB, above which the socket closes with 1009)
// and one produce request being processed.
//
// # Lifetime
//
// The broker pings every Config.PingInterval and closes a socket that sent
// no pong within Config.PongWait; a closed socket ends its subscriptions and
// group memberships. Server owns every connection goroutine: Close closes
// the sockets with 1001 (going away) and waits for them.
//
// # Security
//
// A browser handshake (one with Origin) is accepted only from the broker's
// own host or from Config.AllowedOrigins; others get 403. With an
// Authorizer, the handshake is authenticated (401 on failure) and every
// subscribe and produce is checked: topic read, group read, topic write.
package ws
