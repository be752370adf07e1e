package desk

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestWatchEventLine: each event of 'inbox watch' is one line that names
// the item, the document and what happened to it, with anything from the
// message (a document's name) made safe for a terminal.
func TestWatchEventLine(t *testing.T) {
	at := time.Date(2026, 3, 4, 9, 30, 0, 0, time.Local)
	for _, c := range []struct {
		ev   WatchEvent
		want string
	}{
		{WatchEvent{Kind: EventConnected, Detail: "imap.example.org (IDLE)"}, "connected: imap.example.org (IDLE)"},
		{WatchEvent{Kind: EventDelivered, Item: "7", Doc: 0, Name: "rx.pdf", Dest: DestPrint, Detail: "lp-12"}, "#7 document 1 (rx.pdf) PRINTED, job lp-12"},
		{WatchEvent{Kind: EventDelivered, Item: "7", Doc: 1, Dest: DestDrop, Detail: "/drop/rx.pdf"}, "#7 document 2 DROPPED as /drop/rx.pdf"},
		{WatchEvent{Kind: EventAlreadyDelivered, Item: "7", Doc: 0, Dest: DestDrop, Detail: "same document"}, "#7 document 1 not dropped again: same document"},
		{WatchEvent{Kind: EventNotDelivered, Item: "8", Detail: "bad-signature"}, "#8 NOT VERIFIED (bad-signature): not dropped or printed; it waits in the inbox (securesend inbox show 8)"},
		{WatchEvent{Kind: EventPossiblyDelivered, Item: "9", Doc: 0, Dest: DestPrint, Detail: "check the printer"}, "#9 document 1 POSSIBLY PRINTED: check the printer"},
		{WatchEvent{Kind: EventFailed, Item: "9", Doc: 0, Dest: DestPrint, Err: errors.New("lp: no queue")}, "#9 document 1 not printed: lp: no queue; tried again on the next round"},
		{WatchEvent{Kind: EventDelivered, Item: "5", Name: "a\x1b[2Jb.pdf", Dest: DestDrop, Detail: "x"}, `#5 document 1 (a\x1b[2Jb.pdf) DROPPED as x`},
	} {
		c.ev.Time = at
		if got, want := WatchEventLine(c.ev), at.Format(time.DateTime)+"  "+c.want; got != want {
			t.Errorf("WatchEventLine(%s) = %q, want %q", c.ev.Kind, got, want)
		}
	}
}

// TestWatchEventJSON: 'inbox watch --json' writes only the fields an
// event has, the document counted from 1.
func TestWatchEventJSON(t *testing.T) {
	ev := WatchEvent{Time: time.Unix(0, 0).UTC(), Kind: EventFailed, Item: "3", Doc: 0, Dest: DestDrop, Err: errors.New("disk full")}
	b, err := json.Marshal(WatchEventJSON(ev))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"dest":"drop","document":1,"error":"disk full","event":"failed","item":"3","time":"1970-01-01T00:00:00Z"}`
	if got := string(b); got != want {
		t.Errorf("WatchEventJSON = %s, want %s", got, want)
	}
	if b, _ := json.Marshal(WatchEventJSON(WatchEvent{Kind: EventFetched, Time: ev.Time})); strings.Contains(string(b), "item") {
		t.Errorf("an event about no item: %s", b)
	}
}
