package profile

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The published schema (docs/profile.schema.json) and docs/profile.md must
// name exactly the fields the parser accepts.
func TestSchemaAndDocsMatchParser(t *testing.T) {
	data, err := os.ReadFile("../docs/profile.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Properties map[string]struct {
			Properties map[string]json.RawMessage
			Items      struct {
				Properties map[string]json.RawMessage
				Enum       []string
			}
		}
	}
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatal(err)
	}
	keys := func(m map[string]json.RawMessage) []string {
		var k []string
		for n := range m {
			k = append(k, n)
		}
		sort.Strings(k)
		return k
	}
	tags := func(v any) []string {
		var k []string
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			k = append(k, rt.Field(i).Tag.Get("toml"))
		}
		sort.Strings(k)
		return k
	}
	top := make(map[string]json.RawMessage)
	for n := range schema.Properties {
		top[n] = nil
	}
	docs, err := os.ReadFile("../docs/profile.md")
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name         string
		schema, code []string
	}{
		{"top level", keys(top), tags(rawProfile{})},
		{"organisation", keys(schema.Properties["organisation"].Properties), tags(rawOrg{})},
		{"policy", keys(schema.Properties["policy"].Properties), tags(rawPolicy{})},
		{"account", keys(schema.Properties["account"].Items.Properties), tags(rawAccount{})},
		{"recipient", keys(schema.Properties["recipient"].Items.Properties), tags(rawRecip{})},
	}
	for _, c := range checks {
		if !slices.Equal(c.schema, c.code) {
			t.Errorf("%s: schema has %v, parser has %v", c.name, c.schema, c.code)
		}
		for _, f := range c.code {
			if !strings.Contains(string(docs), "`"+f+"`") && !strings.Contains(string(docs), "["+f+"]") {
				t.Errorf("docs/profile.md does not document %s.%s", c.name, f)
			}
		}
	}
	var locked []string
	for _, s := range KnownSettings() {
		locked = append(locked, string(s))
		if !strings.Contains(string(docs), "`"+string(s)+"`") {
			t.Errorf("docs/profile.md does not document locked setting %s", s)
		}
	}
	if got := schema.Properties["locked"].Items.Enum; !slices.Equal(got, locked) {
		t.Errorf("schema locked enum %v, parser %v", got, locked)
	}
}
