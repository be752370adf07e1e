package desk

import (
	"context"
	"testing"

	"github.com/securesend/securesend/ack"
)

// TestSentAcknowledgements: the answers sent for an inbox item are listed
// from the acknowledgement log, oldest first, with the rejection's reason
// and the job; another item's list stays empty.
func TestSentAcknowledgements(t *testing.T) {
	d, items, _ := fetchFixtures(t, "good_encrypted.eml", "unknown_signer.eml")
	id := items["good_encrypted.eml"].ID
	other := items["unknown_signer.eml"].ID
	ctx := context.Background()
	if got, err := d.SentAcknowledgements(id); err != nil || len(got) != 0 {
		t.Fatalf("before: %+v, %v", got, err)
	}
	acc, err := d.AcknowledgeJob(ctx, id, ack.Accepted, "")
	if err != nil {
		t.Fatal(err)
	}
	rej, err := d.AcknowledgeJob(ctx, id, ack.Rejected, "Dose unclear, please phone")
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.SentAcknowledgements(id)
	if err != nil || len(got) != 2 {
		t.Fatalf("after: %+v, %v", got, err)
	}
	if got[0].Kind != ack.Accepted || got[0].Job != acc || got[1].Kind != ack.Rejected || got[1].Job != rej ||
		got[1].Reason != "Dose unclear, please phone" || got[0].To != "alice@clinic.test" || got[0].Time.IsZero() {
		t.Errorf("listed: %+v", got)
	}
	if got, err := d.SentAcknowledgements(other); err != nil || len(got) != 0 {
		t.Errorf("another item: %+v, %v", got, err)
	}
}
