package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// DecodeStrict decodes exactly one JSON value into v, rejecting unknown
// fields and trailing data: stricter than a Go service, so that anything the
// C++ side adds or mangles is caught.
func DecodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after JSON value")
	}
	return nil
}

// Decode strictly decodes an envelope and its typed payload (a pointer from
// PayloadFactories).
func Decode(data []byte) (Envelope, any, error) {
	var env Envelope
	if err := DecodeStrict(data, &env); err != nil {
		return env, nil, fmt.Errorf("decode envelope: %w", err)
	}
	factory, ok := PayloadFactories[env.Type]
	if !ok {
		return env, nil, fmt.Errorf("unknown event type %q", env.Type)
	}
	p := factory()
	if err := DecodeStrict(env.Payload, p); err != nil {
		return env, nil, fmt.Errorf("decode %s payload: %w", env.Type, err)
	}
	return env, p, nil
}

// Reencode marshals a decoded envelope and payload again, the way a Go
// service would write them; equal bytes mean the input was canonical.
func Reencode(env Envelope, payload any) ([]byte, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("re-marshal payload: %w", err)
	}
	env.Payload = b
	out, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("re-marshal envelope: %w", err)
	}
	return out, nil
}
