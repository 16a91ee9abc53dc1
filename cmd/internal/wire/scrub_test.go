package wire_test

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/minbil/minbil-bff/cmd/internal/wire"
	"github.com/minbil/minbil-bff/cmd/internal/wire/wiretest"
	"github.com/minbil/minbil-bff/contracts/secret"
	"github.com/minbil/minbil-bff/gateway/config"
)

// TestScrubbedHidesEverySecretKey: whichever keys config marks secret, a
// log line through Scrubbed shows no part of their values (S-01), in the
// message or in a field, so a key marked secret later is scrubbed too.
func TestScrubbedHidesEverySecretKey(t *testing.T) {
	env := map[string]string{}
	secrets := map[string]string{} // key path: value
	for _, k := range config.Keys() {
		if k.Secret {
			// Distinct per key, so that one key's value scrubbed cannot
			// hide another's.
			sum := sha256.Sum256([]byte(k.Path))
			secrets[k.Path] = hex.EncodeToString(sum[:12])
			env[k.Env] = secrets[k.Path]
		}
	}
	if len(secrets) == 0 {
		t.Fatal("config.Keys() marks no key secret")
	}
	cfg, err := config.Load("", func(name string) (string, bool) { v, ok := env[name]; return v, ok })
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	core, logs := observer.New(zap.DebugLevel)
	log := wire.Scrubbed(zap.New(core), cfg)
	for path, value := range secrets {
		log.Info("upstream said "+value, zap.String("detail", path+"="+value))
	}
	for _, e := range logs.All() {
		line := wiretest.LogText(e)
		for path, value := range secrets {
			if secret.Quotes(line, value) {
				t.Errorf("a log line quotes %s: %s", path, line)
			}
		}
	}
}
