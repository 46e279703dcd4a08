// Package peer is the broker-to-broker HTTP API. Every broker accepts every
// request; a partition led by another broker, or a topic change that only
// the controller may make, is reached here, under PathPrefix on the broker's
// one HTTP listener.
//
//   - Client is engine.Remote over HTTP, plus forwarded topic changes.
//   - Server answers those calls with the leader-only methods of the engine
//     (Engine) and the controller (Admin). They never forward again, so a
//     forward is exactly one hop; a broker that does not lead answers
//     leader_not_available and the caller retries with fresh metadata.
//   - Proxy passes a public request through to another broker unchanged
//     (group coordinators, for instance); Gather asks several brokers the
//     same question for lists that are merged.
//
// # Trust
//
// Every request between brokers carries X-Fjord-Forwarded-By: <broker id>
// and, when the cluster has one, X-Fjord-Cluster-Secret: <secret>. Every
// route under PathPrefix answers 401 unauthorized when the secret does not
// match (compared in constant time; a broker configured with no secret
// accepts any). Mount also checks the secret of every other request that
// says it was forwarded, and marks the good ones so that Forwarded reports
// them; a forwarded request is never proxied again.
//
// # Wire format, version 1
//
// The version is the path: /internal/v1/. A change that an older broker
// would misread gets /internal/v2/, served next to v1 for a release, so
// that brokers can be upgraded one at a time. Within v1, JSON objects may
// gain fields (readers ignore unknown ones) and nothing else changes.
// Integers in binary headers are big-endian. Errors are always problem+json
// (api/problem): {"status","code","detail"} plus log_start_offset and
// high_watermark for offset_out_of_range; the client turns the code back
// into the engine's sentinel error, so the calling broker answers its own
// client with the same status and code.
//
//	POST /internal/v1/partitions/append?topic=T&partition=P&acks=A&timeout_ms=MS
//	    Content-Type: application/vnd.fjord.batch.v1
//	    body: one storage batch (storage.AppendBatch, base offset 0, leader
//	    epoch 0) holding the records, in order; timestamps, key and value
//	    formats and bytes travel exactly as stored. acks is 0, 1 or -1.
//	    200 {"base_offset":N}: the offset the leader gave the first record.
//
//	GET /internal/v1/partitions/fetch?topic=T&partition=P&offset=O&max_records=N&max_bytes=B&wait_ms=MS
//	    offset may be -1 (latest) or -2 (earliest). max_bytes above
//	    MaxFetchBytes is lowered to it.
//	    200 Content-Type: application/vnd.fjord.fetch.v1, body:
//
//	    offset size field
//	         0    1 version (1)
//	         1    8 log start offset
//	         9    8 high watermark
//	        17    8 log end offset
//	        25    4 leader epoch
//	        29    8 bytes retained
//	        37    8 next offset
//	        45    4 broker id (whose replica served the read)
//	        49    4 batch length L (0: no records were read)
//	        53    L one storage batch of the records read, which have
//	                consecutive offsets from its base offset; its leader
//	                epoch field is 0 (the records may span epochs)
//
//	    The client checks the batch CRC and decodes it (storage.DecodeBatch):
//	    the records own their bytes. Nothing may follow the batch.
//
//	GET /internal/v1/partitions/offsets?topic=T&partition=P&known_hw=H&wait_ms=MS
//	    A long poll: answers once the leader's high watermark is above H, or
//	    after MS. 200 {"log_start_offset","high_watermark","log_end_offset",
//	    "leader_epoch","bytes"}.
//
//	GET /internal/v1/partitions/offsets-for-timestamp?topic=T&partition=P&timestamp=MS
//	    200 the offsets object plus "offset" (the first offset whose
//	    timestamp is >= MS) and "found".
//
//	GET  /internal/v1/replica/stream   (Connection: Upgrade, Upgrade: fjord-replica/1)
//	    101, then a follower's replica fetch rounds over the connection:
//	    frames of length(4) metadataVersion(8) request, each answered by a
//	    frame of length(4) answer, the encodings of replica.go (stream.go).
//	POST /internal/v1/replica/fetch    body and answer application/vnd.fjord.replica-fetch.v1
//	    One round, for followers of a leader that does not serve the stream.
//
//	POST   /internal/v1/admin/topics           body {"name","partitions","replication_factor","config":{k:v},"internal"}
//	PATCH  /internal/v1/admin/topics?topic=T   body {"partitions"?,"config"?:{k:v},"replication_factor"?}
//	DELETE /internal/v1/admin/topics?topic=T
//	    At the controller only. 200 {"metadata_version":N}: the metadata
//	    version the change was committed at.
//
//	POST /internal/v1/admin/alter-isr            body {"topic","topic_id","partition","leader","leader_epoch","partition_epoch","isr"}
//	POST /internal/v1/admin/controlled-shutdown  body {"broker"}
//	    At the controller only, as the topic changes; a stale epoch's
//	    refusal of alter-isr is 200 {"stale_epoch":"detail"} (alter.go).
//
// Request bodies are bounded: MaxAppendBytes for an append, MaxAdminBytes for
// an admin change (413 request_too_large). Bad parameters are 400
// invalid_request.
package peer
