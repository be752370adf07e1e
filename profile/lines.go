package profile

import (
	"fmt"
	"strings"
)

// lineIndex maps field names ("policy.min_tls", "recipient[2].email",
// "recipient[2]") to the line that defines them. The TOML decoder reports no
// positions for unknown or missing keys, so the profile is scanned once more,
// line by line; the format uses only plain tables, arrays of tables and
// key = value lines, which this scanner understands.
type lineIndex struct {
	line  map[string]int
	order []string
}

func indexLines(src string) lineIndex {
	ix := lineIndex{line: map[string]int{}}
	counts := map[string]int{}
	table := ""
	closing := "" // delimiter of an open multi-line string
	for n, l := range strings.Split(src, "\n") {
		ln := n + 1
		if closing != "" {
			if strings.Contains(l, closing) {
				closing = ""
			}
			continue
		}
		t := strings.TrimSpace(l)
		switch {
		case t == "" || strings.HasPrefix(t, "#"):
			continue
		case strings.HasPrefix(t, "[["):
			name := cleanKey(strings.TrimSuffix(strings.SplitN(t[2:], "]]", 2)[0], "]]"))
			counts[name]++
			table = fmt.Sprintf("%s[%d]", name, counts[name])
			ix.add(table, ln)
		case strings.HasPrefix(t, "["):
			table = cleanKey(strings.SplitN(t[1:], "]", 2)[0])
			ix.add(table, ln)
		default:
			k, v, ok := strings.Cut(t, "=")
			if !ok {
				continue
			}
			key := cleanKey(k)
			if table != "" {
				key = table + "." + key
			}
			ix.add(key, ln)
			v = strings.TrimSpace(v)
			for _, d := range []string{`"""`, `'''`} {
				if strings.HasPrefix(v, d) && !strings.Contains(v[3:], d) {
					closing = d
				}
			}
		}
	}
	return ix
}

func (ix *lineIndex) add(key string, ln int) {
	if _, ok := ix.line[key]; !ok {
		ix.line[key] = ln
		ix.order = append(ix.order, key)
	}
}

// cleanKey normalises a TOML key: no spaces around dots, no quotes.
func cleanKey(k string) string {
	parts := strings.Split(strings.TrimSpace(k), ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return strings.Join(parts, ".")
}

// of returns the line of field, or of the closest enclosing table that has
// one ("recipient[2].email" falls back to "recipient[2]").
func (ix lineIndex) of(field string) int {
	for f := field; f != ""; {
		if ln, ok := ix.line[f]; ok {
			return ln
		}
		i := strings.LastIndexAny(f, ".")
		if i < 0 {
			break
		}
		f = f[:i]
	}
	return 0
}

// find returns the first indexed field that matches the un-indexed name the
// decoder reports ("recipient.colour" matches "recipient[3].colour").
func (ix lineIndex) find(plain string) (string, int) {
	for _, k := range ix.order {
		if stripIndexes(k) == plain {
			return k, ix.line[k]
		}
	}
	return plain, 0
}

func stripIndexes(k string) string {
	var b strings.Builder
	skip := false
	for _, r := range k {
		switch {
		case r == '[':
			skip = true
		case r == ']':
			skip = false
		case !skip:
			b.WriteRune(r)
		}
	}
	return b.String()
}
