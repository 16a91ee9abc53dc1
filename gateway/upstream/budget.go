package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/valyala/fasthttp"
	"golang.org/x/sync/semaphore"
)

// answerCost is what one byte of an upstream answer costs while the
// gateway holds it: the body, its decoded form and the cleaned answer.
const answerCost = 4

// budgetWait is how long a call waits for room in the budget before it is
// refused with ErrOverloaded (503 with Retry-After, not counted by the
// breaker: the upstream did nothing wrong).
const budgetWait = 2 * time.Second

// errBodyBroken marks a connection that broke while the answer's body was
// read (after fasthttp's own retries, which end with the headers): a GET
// is sent once more on a fresh connection.
var errBodyBroken = errors.New("connection broke during the answer's body")

// ErrNoRoom is returned (wrapping ErrOverloaded: a local 503 the breaker
// does not count) when an answer found no room in the in-flight budget in
// time.
var ErrNoRoom = fmt.Errorf("%w: no room in the in-flight answer budget", ErrOverloaded)

// answerBudget bounds the upstream answer bytes the gateway holds at once
// (upstream.max_inflight_bytes): a burst of large answers waits for room
// instead of taking the process past its memory limit. The body of an
// answer is read only once it has room, so the budget also covers the
// read; the room is given back when the caller is done with the answer
// (Response.Done).
type answerBudget struct {
	sem     *semaphore.Weighted
	size    int64
	maxBody int64
}

func newAnswerBudget(size, maxBody int64) *answerBudget {
	return &answerBudget{sem: semaphore.NewWeighted(size), size: size, maxBody: maxBody}
}

// weight is the room an answer of contentLength bytes takes (-1: not
// known, so the most it may be); one larger than the whole budget takes
// all of it, so it waits until it is alone rather than never.
func (b *answerBudget) weight(contentLength int64) int64 {
	if contentLength < 0 || contentLength > b.maxBody {
		contentLength = b.maxBody
	}
	return min(max(contentLength, 1)*answerCost, b.size)
}

// read reads res's streamed body once it has room, at most maxBody bytes;
// the room is given back by release(weight).
func (b *answerBudget) read(ctx context.Context, res *fasthttp.Response, deadline time.Time) (body []byte, weight int64, err error) {
	n := int64(res.Header.ContentLength())
	w := b.weight(n)
	if !b.sem.TryAcquire(w) {
		if err := b.wait(ctx, w, deadline); err != nil {
			return nil, 0, fmt.Errorf("%w: a %d-byte answer", ErrNoRoom, n)
		}
	}
	body, err = readBody(res, n, b.maxBody)
	if err != nil {
		b.release(w)
		return nil, 0, err
	}
	return body, w, nil
}

// wait waits for room for w until budgetWait or the call's deadline.
func (b *answerBudget) wait(ctx context.Context, w int64, deadline time.Time) error {
	until := time.Now().Add(budgetWait)
	if deadline.Before(until) {
		until = deadline
	}
	wctx, cancel := context.WithDeadline(ctx, until)
	defer cancel()
	return b.sem.Acquire(wctx, w)
}

// release gives back w bytes of room.
func (b *answerBudget) release(w int64) { b.sem.Release(w) }

// readBody reads a streamed body of contentLength bytes (-1: unknown) up
// to maxBody.
func readBody(res *fasthttp.Response, contentLength, maxBody int64) ([]byte, error) {
	stream := res.BodyStream()
	if stream == nil {
		return append([]byte(nil), res.Body()...), nil
	}
	if contentLength > maxBody {
		return nil, fmt.Errorf("%w: %w", ErrBadResponse, fasthttp.ErrBodyTooLarge)
	}
	buf := make([]byte, 0, max(min(contentLength, maxBody), 0)+1)
	body, err := readAll(buf, stream, maxBody+1)
	switch {
	case err != nil && errors.Is(classify(err), ErrUnreachable):
		return nil, fmt.Errorf("%w: %w", errBodyBroken, classify(err))
	case err != nil:
		return nil, classify(err) // a timeout is not retried
	case int64(len(body)) > maxBody:
		return nil, fmt.Errorf("%w: %w", ErrBadResponse, fasthttp.ErrBodyTooLarge)
	}
	return body, nil
}

// readAll is io.ReadAll of at most limit bytes into buf, which is sized
// for the whole body when its length is known.
func readAll(buf []byte, r io.Reader, limit int64) ([]byte, error) {
	for int64(len(buf)) < limit {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):min(int64(cap(buf)), limit)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}
