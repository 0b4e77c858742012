package workerapp

import (
	"io"
	"net/url"
	"os"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/redact"
)

// maxKeyFileBytes bounds the TLS key file read for masking; a key is a few
// KiB.
const maxKeyFileBytes = 1 << 20

// Secrets returns the worker's secret values, masked in everything a child
// process prints before it reaches history, logs, artifacts or Redis: the
// Redis password (REDIS_PASSWORD, and the one in REDIS_URL's userinfo or
// ?password=), the REDIS_URL itself when it carries one, TEMPORAL_API_KEY,
// and the contents of the TEMPORAL_TLS_KEY file, whole and line by line. A
// key file that cannot be read is left out: Dial has already failed on it.
func Secrets(cfg config.Config) *redact.Redactor {
	values := []string{cfg.Redis.Password, cfg.Temporal.APIKey}
	if u, err := url.Parse(cfg.Redis.URL); err == nil {
		pw, ok := u.User.Password()
		if q := u.Query().Get("password"); q != "" {
			pw, ok = q, true
		}
		if ok && pw != "" {
			values = append(values, pw, cfg.Redis.URL)
		}
	}
	if cfg.Temporal.TLSKey != "" {
		if key, err := readKeyFile(cfg.Temporal.TLSKey); err == nil {
			values = append(values, key)
			values = append(values, redact.Lines(key, 16)...)
		}
	}
	return redact.New(values...)
}

func readKeyFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFileBytes))
	return string(b), err
}
