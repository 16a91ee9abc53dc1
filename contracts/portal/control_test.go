package portal

import (
	"encoding/json"
	"testing"
)

// TestControlRoutesListed: the routes outside the contract reach the page's
// settings as given, and none are listed without them.
func TestControlRoutesListed(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want []Route
	}{
		{"none", Options{Server: ServerGateway}, nil},
		{"mock's", Options{Server: ServerMock, Control: []Route{{Method: "POST", Path: "/_mock/reset", Summary: "Back to the seed."}}},
			[]Route{{Method: "POST", Path: "/_mock/reset", Summary: "Back to the seed."}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, newApp(tt.opts), "/docs/portal.json", nil)
			var got pageConfig
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatal(err)
			}
			if len(got.Control) != len(tt.want) || (len(tt.want) > 0 && got.Control[0] != tt.want[0]) {
				t.Errorf("control = %+v, want %+v", got.Control, tt.want)
			}
		})
	}
}
