package desk

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/securesend/securesend/ack"
	"github.com/securesend/securesend/internal/filelock"
	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/internal/sealedlog"
)

// ackLogLabel names the acknowledgement log's use of its at-rest key.
const ackLogLabel = "securesend acknowledgements"

// Directions of an acknowledgement record.
const (
	// ackOut: an acknowledgement this home queued for a received message.
	ackOut = "out"
	// ackIn: a verified acknowledgement this home received for one of its
	// outbox jobs.
	ackIn = "in"
)

// ackEntry is one record of the home's acknowledgement log (home/acks.log,
// a sealedlog keyed with "acks" in the keychain): an acknowledgement sent
// (ackOut) or received and matched (ackIn). It holds a rejection's reason
// and document names, so it is kept encrypted like the inbox and outbox.
type ackEntry struct {
	Dir               string   `json:"dir"`
	Kind              ack.Kind `json:"kind"`
	OriginalMessageID string   `json:"original_message_id"`
	// Peer is, for ackOut, the verified sender it was sent to; for ackIn,
	// the verified signer's address it came from.
	Peer string `json:"peer"`
	// InboxID is, for ackOut, the inbox item acknowledged.
	InboxID string `json:"inbox_id,omitempty"`
	// Job is, for ackOut, the outbox job carrying the acknowledgement;
	// for ackIn, the outbox job it acknowledges.
	Job            string              `json:"job"`
	Reason         string              `json:"reason,omitempty"`
	Verdict        string              `json:"verdict"`
	Documents      []manifest.Document `json:"documents"`
	FinalRecipient string              `json:"final_recipient"`
	// Fingerprint is, for ackIn, the key that signed it.
	Fingerprint string    `json:"fingerprint,omitempty"`
	Time        time.Time `json:"time"`
	Recorded    time.Time `json:"recorded"`
}

// receipt is e as an ack.Receipt.
func (e *ackEntry) receipt() *ack.Receipt {
	return &ack.Receipt{OriginalMessageID: e.OriginalMessageID, Kind: e.Kind, Reason: e.Reason, Verdict: e.Verdict,
		Documents: slices.Clone(e.Documents), FinalRecipient: e.FinalRecipient, Time: e.Time}
}

// same reports whether e and o record the same acknowledgement.
func (e *ackEntry) same(o *ackEntry) bool {
	return e.Dir == o.Dir && e.Kind == o.Kind && e.OriginalMessageID == o.OriginalMessageID &&
		strings.EqualFold(e.Peer, o.Peer) && e.Time.Equal(o.Time) && e.Job == o.Job
}

// ackLog opens the home's acknowledgement log.
func (d *Desk) ackLog() (*sealedlog.Log, error) {
	key, err := d.kc.Key("acks")
	if err != nil {
		return nil, err
	}
	return sealedlog.Open(d.home.Path("acks.log"), key, ackLogLabel)
}

// ackEntries reads every record of the acknowledgement log. A demo Desk
// (OpenDemo) has none: the demo has no acknowledgement loop, and its home
// keeps no key in the keychain for one.
func (d *Desk) ackEntries() ([]ackEntry, error) {
	if d.mail != nil {
		return nil, nil
	}
	l, err := d.ackLog()
	if err != nil {
		return nil, err
	}
	es, _, err := readAcks(l)
	return es, err
}

func readAcks(l *sealedlog.Log) ([]ackEntry, sealedlog.Cursor, error) {
	var out []ackEntry
	c, _, err := l.Read(sealedlog.Cursor{}, func(rec []byte) error {
		var e ackEntry
		if err := json.Unmarshal(rec, &e); err != nil {
			return fmt.Errorf("acknowledgements: a record cannot be read: %w", err)
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, c, fmt.Errorf("acknowledgements: %w", err)
	}
	return out, c, nil
}

// appendAck records e durably (flushed to disk) unless an equal record is
// there already; check, called under the log's lock with the records so
// far, may refuse it or complete it. It reports whether e was added.
func (d *Desk) appendAck(e ackEntry, check func([]ackEntry, *ackEntry) error) (bool, error) {
	l, err := d.ackLog()
	if err != nil {
		return false, err
	}
	release, err := filelock.Path(d.home.Path("acks.lock"))
	if err != nil {
		return false, fmt.Errorf("acknowledgements: %w", err)
	}
	defer release()
	es, c, err := readAcks(l)
	if err != nil {
		return false, err
	}
	if check != nil {
		if err := check(es, &e); err != nil {
			return false, err
		}
	}
	for i := range es {
		if es[i].same(&e) {
			return false, nil
		}
	}
	e.Recorded = d.Now().UTC()
	rec, err := json.Marshal(e)
	if err != nil {
		return false, err
	}
	if _, err := l.Append(c, true, rec); err != nil {
		return false, fmt.Errorf("acknowledgements: %w", err)
	}
	return true, nil
}
