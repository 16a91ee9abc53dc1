package contracts

import (
	"encoding/json"
	"testing"
)

func TestPrune(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, op, body, want string
		wantErr              bool
	}{
		{name: "unknown fields dropped at every level", op: OpListRatings,
			body: `{"total":1,"items":[{"booking_id":7,"user_email":"x@y","rated_at":"string_value"}],"debug":{"sql":"select"}}`,
			want: `{"items":[{"booking_id":7,"rated_at":"string_value"}],"total":1}`},
		{name: "drifted types kept as sent", op: OpListRatings,
			body: `{"total":"1","items":[{"booking_id":"7","service_rating":4.50}]}`,
			want: `{"items":[{"booking_id":"7","service_rating":4.50}],"total":"1"}`},
		{name: "large ids exact", op: OpListRatings, body: `{"total":0,"items":[{"booking_id":9007199254740993}]}`,
			want: `{"items":[{"booking_id":9007199254740993}],"total":0}`},
		{name: "rate envelope", op: OpRateBooking, body: `{"data":{"booking_id":1,"secret":"k"},"meta":{"request_id":"r","trace":"t"},"x":1}`,
			want: `{"data":{"booking_id":1},"meta":{"request_id":"r"}}`},
		{name: "username", op: OpCheckUsername, body: `{"username":"ola","available":true,"message":"m","score":3}`,
			want: `{"available":true,"message":"m","username":"ola"}`},
		{name: "nulls dropped, the list kept a list", op: OpListRatings, body: `{"total":null,"items":null}`, want: `{"items":[]}`},
		{name: "null inside an item", op: OpRateBooking, body: `{"data":{"booking_id":1,"service_rating_message":null}}`,
			want: `{"data":{"booking_id":1}}`},
		{name: "not JSON", op: OpListRatings, body: `<html>`, wantErr: true},
		{name: "two values", op: OpListRatings, body: `{} {}`, wantErr: true},
		{name: "unknown operation", op: "nope", body: `{}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pruneBytes(c, tt.op, []byte(tt.body))
			if (err != nil) != tt.wantErr || string(got) != tt.want {
				t.Errorf("prune(%s, %s) = %s, %v, want %s (error %v)", tt.op, tt.body, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// pruneBytes is what the gateway does with a body: decode once, prune,
// encode.
func pruneBytes(c *Contract, op string, body []byte) ([]byte, error) {
	v, err := DecodeJSON(body)
	if err != nil {
		return nil, err
	}
	pruned, err := c.PruneValue(op, v)
	if err != nil {
		return nil, err
	}
	return json.Marshal(pruned)
}
