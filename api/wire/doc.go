// Package wire is the JSON form of records on fjord's HTTP and WebSocket
// APIs: it decodes what producers send and encodes what consumers read. The
// REST handlers (api) and the WebSocket package share it, so a record looks
// the same on both.
//
// # Produce
//
// A produce body is {"records":[...]} (DecodeProduceJSON), or one record
// object per line (DecodeProduceNDJSON, for application/x-ndjson). A
// WebSocket produce frame carries the same array, decoded by
// DecodeRecordsArray. A record object has these fields, all optional:
//
//	key           JSON string; its UTF-8 bytes are the key (storage.FormatText)
//	key_base64    standard base64 with padding; the key is raw bytes (FormatBytes)
//	value         any JSON value, kept as the exact bytes sent (FormatJSON);
//	              whitespace inside it, number spelling and escapes survive,
//	              whitespace around it is not part of it
//	value_base64  standard base64; the value is raw bytes (FormatBytes)
//	headers       object of string to string, order kept
//	partition     integer 0..2147483647
//	timestamp     integer 0..9223372036854775807, Unix epoch milliseconds
//
// No key is a null key; no value, or "value":null, is a null value (a
// tombstone). A field given as null means the same as a field left out,
// except that key and key_base64 (and value and value_base64) may not both
// appear, null or not. A missing partition is NoPartition and a missing
// timestamp NoTimestamp.
//
// Decoding is strict, so that a mistake is reported rather than guessed at:
// unknown fields, duplicate fields (in the body, a record or its headers),
// wrong types, bad base64, numbers that are not plain non-negative integers
// ("1.0", "1e2", "-1"), malformed JSON, invalid UTF-8, trailing data after the
// body, a missing or empty records array, and more records than
// Limits.MaxRecords are all ErrInvalid. A record whose key, value and headers
// exceed Limits.MaxRecordBytes is ErrTooLarge. The wrapping error names the
// record ("record 3: ...", by index from 0) or the NDJSON line ("line 4:
// ...", from 1) and is meant for the client. Duplicate names inside a value
// are the producer's business and are kept.
//
// Decoders hold the whole body in memory (its size is bounded by the caller)
// and nothing more: values and unescaped keys are slices of the body, and
// base64 or escaped data is decoded into a few shared chunks.
//
// # Consume
//
// AppendRecord appends a record object by hand, without reflection; field
// order is fixed (topic, partition, offset, timestamp, key, value, headers).
// A record comes back in the form it was produced in. AppendString is the
// JSON string encoder it uses.
//
// # Choice of JSON tokenizer
//
// Decoding uses github.com/go-json-experiment/json/jsontext (the tokenizer
// of encoding/json/v2): it streams tokens, hands out each value's exact raw
// bytes, and checks syntax and UTF-8 as it goes, so one pass does all the
// validation. Measured on the input of this package's benchmarks (1000
// records, each with a text key, a 100-byte JSON value and one header;
// 161 KB), as CPU time per request including io.ReadAll, GOMAXPROCS=1, best
// of 28 runs on a shared 2-core AMD EPYC, Go 1.26:
//
//	jsontext tokens (this package, strict)           487 µs   330 MB/s
//	  the same records as NDJSON                     540 µs   298 MB/s
//	jsontext validation, then a hand-written walk    693 µs   232 MB/s
//	valyala/fastjson, parse and walk                1174 µs   137 MB/s
//	buger/jsonparser after encoding/json.Valid      1712 µs    94 MB/s
//	encoding/json, struct with json.RawMessage      3083 µs    52 MB/s
//	jsontext validation alone (a lower bound)        311 µs   518 MB/s
//
// The alternatives were also weaker on the rules, not only slower:
// encoding/json cannot see duplicate fields or keep header order without a
// token loop that is slower still; jsonparser checks nothing itself, so it
// needs encoding/json.Valid first and every schema check by hand; fastjson
// re-encodes values instead of keeping their bytes, so it cannot keep a value
// byte-exact at all. Validating first and then walking the known-good text
// with a small scanner reads the input twice and did not pay.
//
// AppendRecord writes the same 1000 records (235 KB) in 75 µs (3.1 GB/s)
// without allocating.
package wire
