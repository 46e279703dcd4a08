package peer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/fjord-streaming/fjord/api/problem"
	"github.com/fjord-streaming/fjord/engine"
)

// answerError turns a problem+json answer of broker back into the error
// the broker's engine returned: the sentinel of its code wrapped with its
// detail, so that problem.From renders the same status, code and detail
// here, and marked engine.ErrAppendedNotReplicated when the answer says
// "appended" (a forwarded acks=all produce that the leader stored but could
// not replicate says so to the client too). offset is the offset the call
// asked for, for offset_out_of_range.
func answerError(broker string, status int, body []byte, offset int64) error {
	var d problem.Details
	if err := json.Unmarshal(body, &d); err != nil || d.Code == "" {
		// Not a broker's answer (something between the brokers, or a
		// broker of another kind): a gateway failure is the leader being
		// unreachable, anything else a fault.
		switch status {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return fmt.Errorf("%w: broker %s answered %d", engine.ErrLeaderNotAvailable, broker, status)
		}
		return fmt.Errorf("%w: broker %s answered %d without problem details", ErrBadAnswer, broker, status)
	}
	err := detailsError(broker, status, d, offset)
	if d.Appended {
		err = engine.MarkAppended(err)
	}
	return err
}

// detailsError is the error of broker's problem details d, as answerError
// says, without the appended mark.
func detailsError(broker string, status int, d problem.Details, offset int64) error {
	switch d.Code {
	case problem.OffsetOutOfRange:
		if d.LogStartOffset != nil && d.HighWatermark != nil {
			return &engine.OffsetOutOfRangeError{Offset: offset, LogStartOffset: *d.LogStartOffset, HighWatermark: *d.HighWatermark}
		}
	case problem.Unauthorized:
		// Not the client's fault: the brokers disagree on the secret.
		return fmt.Errorf("peer: broker %s refused this broker's cluster secret: %s", broker, d.Detail)
	case problem.Internal:
		return fmt.Errorf("peer: broker %s failed: %s", broker, d.Detail)
	}
	if sentinel := sentinelFor(d.Code); sentinel != nil {
		return fmt.Errorf("%w: %s", sentinel, d.Detail)
	}
	if d.Status < 400 || d.Status > 599 {
		d.Status = status
	}
	return problem.New(d.Status, d.Code, d.Detail)
}

// sentinelFor is the sentinel error of an API code. The wire package's
// sentinels come first in problem's table for invalid_request and
// record_too_large, but what another broker's engine refused is an engine
// error; both classify the same.
func sentinelFor(code string) error {
	switch code {
	case problem.InvalidRequest:
		return engine.ErrInvalidRequest
	case problem.RecordTooLarge:
		return engine.ErrRecordTooLarge
	}
	return problem.ErrorFor(code)
}

// transportError is the error of a call to broker that got no answer: the
// caller's deadline or cancellation is a timeout, anything else (refused,
// reset, unresolvable) means the leader is not available.
func transportError(ctx context.Context, broker string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%w: call to broker %s: %w", engine.ErrTimeout, broker, ctxErr)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: call to broker %s: %w", engine.ErrTimeout, broker, err)
	}
	return fmt.Errorf("%w: broker %s unreachable: %w", engine.ErrLeaderNotAvailable, broker, err)
}
