package desk

import (
	"fmt"
	"strings"
	"time"

	"github.com/securesend/securesend/internal/termsafe"
)

// WatchEventLine is one line of the watch's log, safe for a terminal.
func WatchEventLine(ev WatchEvent) string {
	s := ev.Time.Format(time.DateTime) + "  "
	doc := ""
	if ev.Item != "" {
		doc = "#" + ev.Item
		if ev.Dest != "" {
			doc += fmt.Sprintf(" document %d", ev.Doc+1)
			if ev.Name != "" {
				doc += " (" + ev.Name + ")"
			}
		}
	}
	switch ev.Kind {
	case EventConnected:
		s += "connected: " + ev.Detail
	case EventFetched:
		s += "fetched: " + ev.Detail
	case EventDisconnected:
		s += fmt.Sprintf("connection lost: %v; %s", ev.Err, ev.Detail)
	case EventDelivered:
		if ev.Dest == DestPrint {
			s += doc + " PRINTED, job " + ev.Detail
		} else {
			s += doc + " DROPPED as " + ev.Detail
		}
	case EventAlreadyDelivered:
		s += doc + " not " + pastTense(ev.Dest) + " again: " + ev.Detail
	case EventNotDelivered:
		s += doc + " NOT VERIFIED (" + ev.Detail + "): not dropped or printed; it waits in the inbox (securesend inbox show " + ev.Item + ")"
	case EventPossiblyDelivered:
		s += doc + " POSSIBLY " + strings.ToUpper(pastTense(ev.Dest)) + ": " + ev.Detail
	case EventNotReceived:
		s += "NOT RECEIVED: " + ev.Detail
	case EventFailed:
		s += fmt.Sprintf("%s not %s: %v; tried again on the next round", doc, pastTense(ev.Dest), ev.Err)
	default:
		s += string(ev.Kind) + " " + doc + " " + ev.Detail
	}
	return termsafe.String(s)
}

// pastTense is what a delivery to dest does, in the past tense.
func pastTense(dest string) string {
	if dest == DestPrint {
		return "printed"
	}
	return "dropped"
}

// WatchEventJSON is one line of 'inbox watch --json'.
func WatchEventJSON(ev WatchEvent) map[string]any {
	m := map[string]any{"time": ev.Time, "event": ev.Kind}
	if ev.Item != "" {
		m["item"] = ev.Item
	}
	if ev.Dest != "" {
		m["dest"], m["document"] = ev.Dest, ev.Doc+1
	}
	if ev.Name != "" {
		m["name"] = ev.Name
	}
	if ev.Detail != "" {
		m["detail"] = ev.Detail
	}
	if ev.Err != nil {
		m["error"] = ev.Err.Error()
	}
	return m
}
