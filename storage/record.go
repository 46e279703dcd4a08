package storage

// Format says how a key or value was given by the producer, so that a consumer
// gets it back in the same form.
type Format uint8

// Formats of a key or value. A key uses FormatNull, FormatText or FormatBytes;
// a value uses FormatNull, FormatJSON or FormatBytes.
const (
	// FormatNull is an absent key or a null value (a tombstone). Its bytes are nil.
	FormatNull Format = 0
	// FormatBytes is raw bytes, given and returned as base64.
	FormatBytes Format = 1
	// FormatText is a key given as a JSON string; the bytes are its UTF-8 text.
	FormatText Format = 2
	// FormatJSON is a value given as JSON; the bytes are exactly what the
	// producer sent (whitespace, number spelling and escapes included).
	FormatJSON Format = 3
)

// Header is one record header. Order is kept as produced.
type Header struct {
	Key   string
	Value string
}

// Record is one record of a partition log.
//
// Byte slices returned by decoders alias the batch they were decoded from;
// callers that keep a record beyond the batch's lifetime copy it.
type Record struct {
	Offset      int64
	Timestamp   int64 // Unix epoch milliseconds
	KeyFormat   Format
	Key         []byte
	ValueFormat Format
	Value       []byte
	Headers     []Header
}

// Size is an estimate of the record's encoded size, used for byte limits.
func (r *Record) Size() int {
	n := 16 + len(r.Key) + len(r.Value)
	for _, h := range r.Headers {
		n += 2 + len(h.Key) + len(h.Value)
	}
	return n
}
