package desk

import "github.com/securesend/securesend/receive"

// Listing is the inbox as 'inbox list' shows it: every item, ready to
// show, and the messages that could not be received.
type Listing struct {
	Received []Received
	Failures []receive.Failure
}

// Listing reads the whole inbox (ReceivedAll) and its failures.
func (d *Desk) Listing() (*Listing, error) {
	all, err := d.ReceivedAll()
	if err != nil {
		return nil, err
	}
	failures, err := d.Failures()
	if err != nil {
		return nil, err
	}
	return &Listing{Received: all, Failures: failures}, nil
}

// ListingJSON is what 'inbox list --json' prints.
type ListingJSON struct {
	Items    []receive.Item    `json:"items"`
	Failures []receive.Failure `json:"failures"`
}

// JSON is l as 'inbox list --json' prints it.
func (l *Listing) JSON() ListingJSON {
	items := make([]receive.Item, len(l.Received))
	for i := range l.Received {
		items[i] = *l.Received[i].Item
	}
	return ListingJSON{Items: items, Failures: l.Failures}
}

// ReceivedJSON is what 'inbox show --json' prints: the item and its
// report (redacted when withheld, as Received returns it).
type ReceivedJSON struct {
	Item   *receive.Item   `json:"item"`
	Report *receive.Report `json:"report"`
}

// JSON is r as 'inbox show --json' prints it.
func (r *Received) JSON() ReceivedJSON { return ReceivedJSON{Item: r.Item, Report: r.Report} }
