package portal

import (
	"encoding/json"
	"io/fs"
	"strings"
	"testing"

	"github.com/minbil/minbil-bff/contracts"
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

// TestDevTokenOnlyWhereTheProviderIs: the page offers "Get a token" (the
// settings name the token shortcut) on the mock and on a gateway in front
// of the built-in mock, which passes the provider through with the mock's
// control routes, and never on a gateway without them (production).
func TestDevTokenOnlyWhereTheProviderIs(t *testing.T) {
	control := []Route{{Method: "POST", Path: "/_mock/reset", Summary: "Back to the seed."}}
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"production gateway", Options{}, ""},
		{"gateway, no control routes", Options{Server: ServerGateway, FaultControls: true}, ""},
		{"gateway in front of the built-in mock", Options{Server: ServerGateway, FaultControls: true, Control: control}, contracts.PathDevToken},
		{"mock", Options{Server: ServerMock}, contracts.PathDevToken},
		{"mock, fault headers allowed", Options{Server: ServerMock, FaultControls: true, Control: control}, contracts.PathDevToken},
		{"explicit", Options{Server: ServerGateway, DevToken: "/dev/token"}, "/dev/token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, newApp(tt.opts), "/docs/portal.json", nil)
			var got pageConfig
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatal(err)
			}
			if got.DevToken != tt.want {
				t.Errorf("devToken = %q, want %q", got.DevToken, tt.want)
			}
			if tt.want == "" && strings.Contains(string(r.body), "devToken") {
				t.Errorf("portal.json names devToken: %s", r.body)
			}
		})
	}
}

// The page builds the control only from the settings: nothing in the
// assets names the shortcut itself, so a page without devToken has none.
func TestDevTokenControlFollowsSettings(t *testing.T) {
	js, err := fs.ReadFile(assetFS, "assets/portal.js")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(js), contracts.PathDevToken) {
		t.Errorf("portal.js names %s; it must take the path from settings.devToken only", contracts.PathDevToken)
	}
	if !strings.Contains(string(js), "settings.devToken ? tokenControl(") {
		t.Error("portal.js no longer builds the token control from settings.devToken only")
	}
}
