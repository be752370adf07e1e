package desk

import (
	"errors"
	"os"
	"testing"
)

// TestSettleUnwatchedPrinterCreatesNoJournal: listing or settling the
// possibly printed documents of a printer never watched (a typo, or
// before the first watch) must not create its journal. Before, it did:
// the first watch of that printer then took it for watched before and
// printed every document already in the inbox instead of skipping them.
func TestSettleUnwatchedPrinterCreatesNoJournal(t *testing.T) {
	d, srv := watchDesk(t)
	srv.Deliver(t, testdata(t, "good_encrypted.eml"))
	if us, err := d.PossiblyPrinted("Never-Watched"); err != nil || len(us) != 0 {
		t.Fatalf("PossiblyPrinted of a printer never watched: %v, %v", us, err)
	}
	if _, err := d.SettlePrint("Never-Watched", "1", -1, SettlePrinted); !errors.Is(err, ErrNotUnsettled) {
		t.Fatalf("SettlePrint of a printer never watched: %v, want ErrNotUnsettled", err)
	}
	dir, err := d.home.Sub("watch")
	if err != nil {
		t.Fatal(err)
	}
	es, _ := os.ReadDir(dir)
	for _, e := range es {
		t.Errorf("%s created by settle of a printer never watched", e.Name())
	}
}
