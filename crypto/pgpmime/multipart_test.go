package pgpmime

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/emersion/go-message"
)

func readParts(t *testing.T, body, boundary string, wrap func(io.Reader) io.Reader) ([]string, error) {
	t.Helper()
	m := NewRawReader(wrap(strings.NewReader(body)), boundary)
	var parts []string
	for {
		p, err := m.NextPart()
		if err == io.EOF {
			return parts, nil
		}
		if err != nil {
			return parts, err
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return parts, err
		}
		parts = append(parts, string(b))
	}
}

func TestRawReader(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    []string
		wantErr bool
	}{
		{
			name: "two parts, CRLF",
			body: "preamble\r\n--b\r\nA: 1\r\n\r\nbody one\r\n--b\r\n\r\nbody two\r\n\r\n--b--\r\nepilogue\r\n",
			want: []string{"A: 1\r\n\r\nbody one", "\r\nbody two\r\n"},
		},
		{
			name: "LF line endings",
			body: "--b\nA: 1\n\nx\n--b--\n",
			want: []string{"A: 1\n\nx"},
		},
		{
			name: "transport padding after delimiter",
			body: "--b \t\r\nx\r\n--b-- \r\n",
			want: []string{"x"},
		},
		{
			name: "boundary prefix inside content is content",
			body: "--b\r\n--bx\r\n--b-\r\n--b--\r\n",
			want: []string{"--bx\r\n--b-"},
		},
		{
			name: "close delimiter without final line break",
			body: "--b\r\nx\r\n--b--",
			want: []string{"x"},
		},
		{
			name:    "truncated: no close delimiter",
			body:    "--b\r\nx\r\ny",
			wantErr: true,
		},
		{
			name:    "no delimiter at all",
			body:    "just text\r\n",
			wantErr: true,
		},
		{
			name: "empty multipart",
			body: "--b--\r\n",
			want: nil,
		},
		{
			name: "very long line",
			body: "--b\r\n" + strings.Repeat("x", 200000) + "\r\n--b--\r\n",
			want: []string{strings.Repeat("x", 200000)},
		},
	}
	wraps := map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"one byte": iotest.OneByteReader,
	}
	for _, tt := range tests {
		for wname, wrap := range wraps {
			got, err := readParts(t, tt.body, "b", wrap)
			if (err != nil) != tt.wantErr {
				t.Errorf("%s (%s): err = %v, wantErr %v", tt.name, wname, err, tt.wantErr)
				continue
			}
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Errorf("%s (%s): err = %v, want ErrMalformed", tt.name, wname, err)
				}
				continue
			}
			if len(got) != len(tt.want) {
				t.Errorf("%s (%s): %d parts %q, want %q", tt.name, wname, len(got), got, tt.want)
				continue
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("%s (%s): part %d = %.80q, want %.80q", tt.name, wname, i, got[i], tt.want[i])
				}
			}
		}
	}
}

func TestCRLFWriter(t *testing.T) {
	tests := map[string]string{
		"a\nb\n":     "a\r\nb\r\n",
		"a\r\nb\r\n": "a\r\nb\r\n",
		"a\rb":       "a\rb",
		"\n\n":       "\r\n\r\n",
	}
	for in, want := range tests {
		// Byte by byte, so a CR and its LF arrive in different writes.
		var b bytes.Buffer
		w := CRLFWriter(&b)
		for i := 0; i < len(in); i++ {
			w.Write([]byte{in[i]})
		}
		if b.String() != want {
			t.Errorf("CRLFWriter(%q) = %q, want %q", in, b.String(), want)
		}
	}
}

func TestProtectHeaders(t *testing.T) {
	entity := "Content-Type: multipart/mixed;\r\n boundary=\"x\"\r\n\r\n--x\r\n\r\nbody\r\n--x--\r\n"
	tests := []struct {
		name    string
		hp      HeaderProtection
		entity  string
		want    string
		wantErr bool
	}{
		{"signed", HPClear, entity, "Content-Type: multipart/mixed;\r\n boundary=\"x\";\r\n hp=\"clear\";\r\n protected-headers=\"v1\"\r\nSubject: real\r\nFrom: a@b.test\r\n\r\n--x\r\n\r\nbody\r\n--x--\r\n", false},
		{"encrypted", HPCipher, entity, "Content-Type: multipart/mixed;\r\n boundary=\"x\";\r\n hp=\"cipher\";\r\n protected-headers=\"v1\"\r\nSubject: real\r\nFrom: a@b.test\r\n\r\n--x\r\n\r\nbody\r\n--x--\r\n", false},
		{"unknown hp", HeaderProtection("v1"), entity, "", true},
		{"no Content-Type", HPClear, "X-Other: 1\r\n\r\nbody\r\n", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			w := ProtectHeaders(&b, []byte("Subject: real\r\nFrom: a@b.test\r\n"), tt.hp)
			var err error
			for _, chunk := range []string{tt.entity[:10], tt.entity[10:20], tt.entity[20:]} {
				if _, err = w.Write([]byte(chunk)); err != nil {
					break
				}
			}
			if err == nil {
				err = w.Close()
			}
			if tt.wantErr {
				if err == nil {
					t.Errorf("accepted; wrote %q", b.String())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("got\n%q\nwant\n%q", b.String(), tt.want)
			}
			// go-message reads the parameters and the protected fields.
			ent, err := message.Read(strings.NewReader(b.String()))
			if err != nil {
				t.Fatal(err)
			}
			_, params, err := ent.Header.ContentType()
			if err != nil || params["hp"] != string(tt.hp) || params["protected-headers"] != "v1" || params["boundary"] != "x" {
				t.Errorf("go-message Content-Type params %v, %v", params, err)
			}
			if ent.Header.Get("Subject") != "real" || ent.Header.Get("From") != "a@b.test" {
				t.Errorf("go-message protected fields: Subject %q From %q", ent.Header.Get("Subject"), ent.Header.Get("From"))
			}
		})
	}
	if err := ProtectHeaders(io.Discard, nil, HPClear).Close(); err == nil {
		t.Error("Close without a header accepted")
	}
}
