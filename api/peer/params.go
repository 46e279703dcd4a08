package peer

import (
	"fmt"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fjord-streaming/fjord/engine"
)

// maxTopicName is the longest topic name (engine.ValidateTopicName).
const maxTopicName = 249

// params reads query parameters; the first bad one is kept in err, and
// later reads return zero values.
type params struct {
	c   echo.Context
	err error
}

func (p *params) fail(format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf("%w: "+format, append([]any{engine.ErrInvalidRequest}, args...)...)
	}
}

// raw returns a required parameter.
func (p *params) raw(name string) (string, bool) {
	if p.err != nil {
		return "", false
	}
	v := p.c.QueryParam(name)
	if v == "" {
		p.fail("query parameter %s is required", name)
		return "", false
	}
	return v, true
}

// int returns a required integer parameter within [lo, hi].
func (p *params) int(name string, lo, hi int64) int64 {
	v, ok := p.raw(name)
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		p.fail("query parameter %s=%q must be an integer between %d and %d", name, v, lo, hi)
		return 0
	}
	return n
}

// duration returns an optional parameter of milliseconds, def when absent.
func (p *params) duration(name string, def time.Duration) time.Duration {
	if p.err != nil || p.c.QueryParam(name) == "" {
		return def
	}
	return time.Duration(p.int(name, 0, maxWait.Milliseconds())) * time.Millisecond
}

// topic returns the topic parameter.
func (p *params) topic() string {
	v, ok := p.raw("topic")
	if ok && len(v) > maxTopicName {
		p.fail("topic name is longer than %d bytes", maxTopicName)
		return ""
	}
	return v
}

// partition returns the topic and partition parameters.
func (p *params) partition() (string, int32) {
	topic := p.topic()
	return topic, int32(p.int("partition", 0, 1<<31-1))
}
