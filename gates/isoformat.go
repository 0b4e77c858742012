package gates

import "time"

// FormatPyISO renders t as Python's datetime.now(timezone.utc).isoformat()
// does ("2026-02-24T01:28:51.123456+00:00", no fraction when it is zero):
// the one formatter of every ts_utc strictcycle writes.
func FormatPyISO(t time.Time) string { return pyISOFormat(t) }
