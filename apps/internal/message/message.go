// Package message defines the payload the producer sends and the consumer
// stores, and the checks a payload must pass before it is written.
package message

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/google/uuid"
)

// Message is one emulated financial transaction as it travels on the queue.
type Message struct {
	// ID is unique per message; the store keys rows by it, so a redelivered
	// message rewrites its own row instead of adding one.
	ID string `json:"id"`
	// Msg is the transaction itself, any JSON value.
	Msg json.RawMessage `json:"msg"`
	// SrcStamp is when the producer created the message.
	SrcStamp time.Time `json:"srcStamp"`
}

// Record is a message as stored: the message plus when it was processed.
type Record struct {
	Message
	DestStamp time.Time
}

// Latency is the time from production to processing.
func (r Record) Latency() time.Duration { return r.DestStamp.Sub(r.SrcStamp) }

// idPattern admits ids that are valid keys in every store: DynamoDB hash
// keys and Azure Table RowKeys (which forbid '/', '\\', '#', '?' and
// control characters).
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

// ErrMalformed marks a body that can never be processed, however often it is
// retried.
var ErrMalformed = errors.New("malformed message")

// New returns a message with a fresh id, stamped now.
func New(msg json.RawMessage, now time.Time) Message {
	return WithID(uuid.NewString(), msg, now)
}

// WithID returns a message with the given id, stamped now. The id must pass
// CheckID.
func WithID(id string, msg json.RawMessage, now time.Time) Message {
	return Message{ID: id, Msg: msg, SrcStamp: now.UTC()}
}

// CheckID reports whether id is a valid message id.
func CheckID(id string) error {
	if !idPattern.MatchString(id) {
		return fmt.Errorf("id %q: want 1-128 characters of letters, digits, '.', '_', ':' or '-', starting with a letter or digit", id)
	}
	return nil
}

// Encode returns the wire form of m.
func (m Message) Encode() ([]byte, error) {
	return json.Marshal(m)
}

// Decode parses and checks a wire body. Every error wraps ErrMalformed.
func Decode(body []byte) (Message, error) {
	var m Message
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&m); err != nil {
		return Message{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if dec.More() {
		return Message{}, fmt.Errorf("%w: trailing data after the JSON object", ErrMalformed)
	}
	if err := CheckID(m.ID); err != nil {
		return Message{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	switch {
	case len(m.Msg) == 0 || string(m.Msg) == "null":
		return Message{}, fmt.Errorf("%w: id %q: msg is missing", ErrMalformed, m.ID)
	case m.SrcStamp.IsZero():
		return Message{}, fmt.Errorf("%w: id %q: srcStamp is missing", ErrMalformed, m.ID)
	}
	return m, nil
}
