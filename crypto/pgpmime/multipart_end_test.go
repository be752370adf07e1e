package pgpmime_test

import (
	"io"
	"strings"
	"testing"

	"github.com/securesend/securesend/crypto/pgpmime"
)

// TestRawReaderPartEndAndEpilogue: PartEndedAtBareLF tells, for each part
// read to its end, whether its delimiter followed a bare LF; Epilogue
// gives what follows the close delimiter line.
func TestRawReaderPartEndAndEpilogue(t *testing.T) {
	body := "preamble\r\n--b\r\none\r\n--b\r\ntwo\n--b\r\n--b\r\nfour\r\n--b--  \r\nthe epilogue\r\n"
	rr := pgpmime.NewRawReader(strings.NewReader(body), "b")
	var got []string
	var lf []bool
	for {
		p, err := rr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(b))
		lf = append(lf, rr.PartEndedAtBareLF())
	}
	if strings.Join(got, "|") != "one|two||four" {
		t.Errorf("parts %q", got)
	}
	if want := []bool{false, true, false, false}; len(lf) != 4 || lf[0] != want[0] || lf[1] != want[1] || lf[2] != want[2] || lf[3] != want[3] {
		t.Errorf("ended at a bare LF: %v, want %v", lf, want)
	}
	ep, err := io.ReadAll(rr.Epilogue())
	if err != nil || string(ep) != "the epilogue\r\n" {
		t.Errorf("epilogue %q, %v", ep, err)
	}
}
