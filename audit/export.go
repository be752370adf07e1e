package audit

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Format is an export format.
type Format string

// Export formats.
const (
	// CSV: one header row, then one row per entry; columns seq, time, kind,
	// every name of FieldNames, prev_hash, hash, mac.
	CSV Format = "csv"
	// JSON: a JSON array of entries, as they are stored.
	JSON Format = "json"
)

// Export writes the entries at or after since (all when zero) to w in
// format. It streams; it does not verify the chain (see Verify), but fails
// on a line that is not an entry. The JSON export keeps every entry exactly
// as stored, so VerifyFile can check its chain without the key.
func (l *Log) Export(w io.Writer, format Format, since time.Time) error {
	if format != CSV && format != JSON {
		return fmt.Errorf("audit: unknown export format %q (want csv or json)", format)
	}
	f, unlock, err := l.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("audit: read log: %w", err)
	}
	var out entryWriter
	if format == CSV {
		out = newCSVWriter(w)
	} else {
		out = &jsonWriter{w: w}
	}
	r := bufio.NewReaderSize(f, 64<<10)
	for lineNo := 1; ; lineNo++ {
		b, err := readLine(r)
		if errors.Is(err, errEOF) {
			break
		}
		if err != nil && !errors.Is(err, errTorn) {
			return fmt.Errorf("audit: read log line %d: %w", lineNo, err)
		}
		var e Entry
		if err := json.Unmarshal(b, &e); err != nil {
			return fmt.Errorf("audit: line %d is not an entry (run 'securesend audit verify')", lineNo)
		}
		if !since.IsZero() && e.Time.Before(since) {
			continue
		}
		if err := out.write(e); err != nil {
			return fmt.Errorf("audit: export: %w", err)
		}
	}
	if err := out.close(); err != nil {
		return fmt.Errorf("audit: export: %w", err)
	}
	return nil
}

type entryWriter interface {
	write(Entry) error
	close() error
}

type csvWriter struct {
	w      *csv.Writer
	header bool
}

func newCSVWriter(w io.Writer) *csvWriter { return &csvWriter{w: csv.NewWriter(w)} }

func (c *csvWriter) writeHeader() error {
	c.header = true
	row := append([]string{"seq", "time", "kind"}, fieldNames[:]...)
	return c.w.Write(append(row, "prev_hash", "hash", "mac"))
}

func (c *csvWriter) write(e Entry) error {
	if !c.header {
		if err := c.writeHeader(); err != nil {
			return err
		}
	}
	row := []string{strconv.FormatUint(e.Seq, 10), e.Time.UTC().Format(time.RFC3339Nano), string(e.Kind)}
	for _, name := range fieldNames {
		row = append(row, csvSafe(e.Fields[name]))
	}
	return c.w.Write(append(row, e.PrevHash, e.Hash, e.MAC))
}

func (c *csvWriter) close() error {
	if !c.header {
		if err := c.writeHeader(); err != nil {
			return err
		}
	}
	c.w.Flush()
	return c.w.Error()
}

// csvSafe defuses values a spreadsheet would run as a formula (a server
// reply or address starting with =, +, - or @).
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@') {
		return "'" + s
	}
	return s
}

type jsonWriter struct {
	w io.Writer
	n int
}

func (j *jsonWriter) write(e Entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	sep := ",\n  "
	if j.n == 0 {
		sep = "[\n  "
	}
	j.n++
	_, err = fmt.Fprintf(j.w, "%s%s", sep, b)
	return err
}

func (j *jsonWriter) close() error {
	end := "\n]\n"
	if j.n == 0 {
		end = "[]\n"
	}
	_, err := io.WriteString(j.w, end)
	return err
}
