package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securesend/securesend/crypto/pgp/pgptest"
	"github.com/securesend/securesend/receive"
)

// TestInboxOpenEachFlagAnswersOneQuestion: over a verified and an
// unverified (stripped, not signed) copy of a current, a cancelled and a
// replaced prescription, 'inbox open --out' with no flag, with
// --yes-unverified alone, with --yes-superseded alone and with both
// writes the document exactly when every question that applies is
// answered, and otherwise writes nothing and names the flag still
// missing (the supersession's first). --yes-unverified alone never
// writes out a cancelled or replaced prescription, verified or not.
func TestInboxOpenEachFlagAnswersOneQuestion(t *testing.T) {
	s, ids := confirmGrid(t)
	const (
		writes = ""
		needS  = "--yes-superseded"
		needU  = "--yes-unverified"
	)
	flags := [][]string{nil, {"--yes-unverified"}, {"--yes-superseded"}, {"--yes-unverified", "--yes-superseded"}}
	want := map[string][4]string{ // the flag named in the refusal, by flags above
		"verified current":     {writes, writes, writes, writes},
		"verified cancelled":   {needS, needS, writes, writes},
		"verified replaced":    {needS, needS, writes, writes},
		"unverified current":   {needU, writes, needU, writes},
		"unverified cancelled": {needS, needS, needU, writes},
		"unverified replaced":  {needS, needS, needU, writes},
	}
	for item, outcomes := range want {
		for i, f := range flags {
			t.Run(item+"/"+strings.Join(append([]string{"flags"}, f...), " "), func(t *testing.T) {
				dir := t.TempDir()
				code, stdout, errOut := s.pharmacy.run(t, "", append([]string{"inbox", "open", ids[item], "--out", dir}, f...)...)
				got := listDir(t, dir)
				if outcomes[i] == writes {
					if code != 0 || len(got) != 1 {
						t.Fatalf("exit %d, wrote %v\nstdout: %s\nstderr: %s", code, got, stdout, errOut)
					}
					data, err := os.ReadFile(filepath.Join(dir, got[0]))
					if err != nil || !strings.HasPrefix(string(data), "%PDF") {
						t.Errorf("wrote %q (%v)", data, err)
					}
					return
				}
				if code != 1 || len(got) != 0 {
					t.Fatalf("exit %d, wrote %v\nstderr: %s", code, got, errOut)
				}
				if !strings.Contains(errOut, "then add "+outcomes[i]) {
					t.Errorf("the refusal does not ask for %s:\n%s", outcomes[i], errOut)
				}
				other := map[string]string{needS: needU, needU: needS}[outcomes[i]]
				if strings.Contains(errOut, "then add "+other) {
					t.Errorf("the refusal asks for %s as well:\n%s", other, errOut)
				}
			})
		}
	}
}

// TestInboxOpenPromptsOneAtATime: on a terminal, 'inbox open' of an
// unverified copy of a cancelled prescription asks first whether to open
// a document that is no longer current, then, only after y, whether to
// open one that is not verified; it writes only after two y's. With
// --yes-superseded it asks only the second question.
func TestInboxOpenPromptsOneAtATime(t *testing.T) {
	s, ids := confirmGrid(t)
	const first, second = "This document is no longer current. Open it anyway? [y/N] ", "is from a message that is NOT VERIFIED"
	for _, tt := range []struct {
		name, typed string
		flags       []string
		asked       []string // the prompts, in order
		writes      bool
	}{
		{"y y", "y\ny\n", nil, []string{first, "NOT VERIFIED (not-signed)"}, true},
		{"y n", "y\nn\n", nil, []string{first, "NOT VERIFIED (not-signed)"}, false},
		{"n", "n\n", nil, []string{first}, false},
		{"--yes-superseded y", "y\n", []string{"--yes-superseded"}, []string{"NOT VERIFIED (not-signed)"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			controller, tty := openPTY(t)
			if _, err := controller.Write([]byte(tt.typed)); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			var out, errOut bytes.Buffer
			code := run(context.Background(), s.pharmacy.env(tty, &out, &errOut), append([]string{"inbox", "open", ids["unverified cancelled"], "--out", dir}, tt.flags...))
			if got := listDir(t, dir); (len(got) == 1) != tt.writes || (code == 0) != tt.writes {
				t.Fatalf("exit %d, wrote %v\n%s", code, got, &errOut)
			}
			p := errOut.String()
			at := 0
			for _, q := range tt.asked {
				i := strings.Index(p[at:], q)
				if i < 0 {
					t.Fatalf("prompt %q not asked (in order):\n%s", q, p)
				}
				at += i + len(q)
			}
			if n := strings.Count(p, "[y/N]"); n != len(tt.asked) {
				t.Errorf("%d prompts, want %d:\n%s", n, len(tt.asked), p)
			}
		})
	}
}

// confirmGrid is a pharmacy's inbox, over real SMTP and IMAP servers,
// holding a verified and an unverified (stripped, not signed) copy of a
// current, a cancelled and a replaced prescription, with the replacement
// and the cancellation; ids maps "verified cancelled" and so on to item
// IDs.
func confirmGrid(t *testing.T) (*cancelSetup, map[string]string) {
	t.Helper()
	s := newCancelSetup(t)
	cur := s.send(t, "rx current", "--encrypt", "never")
	canc := s.send(t, "rx cancelled", "--encrypt", "never")
	old := s.send(t, "rx replaced", "--encrypt", "never")
	originals := s.sent()
	s.clinic.must(t, 0, "", "cancel", canc, "--reason", "wrong patient")
	s.send(t, "rx replacement", "--encrypt", "never", "--replaces", old, "--note", "dose corrected")
	all := s.sent()
	if len(originals) != 3 || len(all) != 5 {
		t.Fatalf("server got %d originals, %d messages", len(originals), len(all))
	}
	s.deliver(t, all...)
	for _, raw := range originals {
		s.deliver(t, pgptest.StripSignature(t, raw))
	}
	s.delivered = len(s.smtp.Messages())
	s.pharmacy.must(t, 0, "", "inbox", "fetch")

	out := s.pharmacy.must(t, 0, "", "inbox", "list", "--json")
	var l struct {
		Items []receive.Item `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		t.Fatalf("inbox list --json: %v\n%s", err, out)
	}
	ids := map[string]string{} // "verified cancelled" → item ID
	for _, it := range l.Items {
		what := map[string]string{cur: "current", canc: "cancelled", old: "replaced"}[it.MessageID]
		if what == "" {
			continue
		}
		if it.Verdict == receive.Verified {
			ids["verified "+what] = it.ID
		} else {
			ids["unverified "+what] = it.ID
		}
		if (it.Superseded != nil) != (what != "current") {
			t.Fatalf("%s %s (#%s): superseded %+v", it.Verdict, what, it.ID, it.Superseded)
		}
	}
	if len(ids) != 6 {
		t.Fatalf("items %v, want a verified and an unverified copy of each original", ids)
	}
	return s, ids
}
