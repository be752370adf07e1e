package outbox_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/securesend/securesend/audit"
)

// jsonEntries collects an audit JSON export.
type jsonEntries struct{ bytes.Buffer }

func (j *jsonEntries) entries(t testing.TB) []audit.Entry {
	t.Helper()
	var es []audit.Entry
	if err := json.Unmarshal(j.Bytes(), &es); err != nil {
		t.Fatal(err)
	}
	return es
}
