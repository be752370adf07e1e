package audit

import (
	"fmt"
	"time"
)

// ParseSince reads the start of an export (Log.Export's from): a date
// (2026-01-02, from midnight in loc) or an RFC 3339 time. The error says
// which forms are accepted.
func ParseSince(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not a date like 2026-01-02 or a time like 2026-01-02T15:04:05+13:00", s)
}
