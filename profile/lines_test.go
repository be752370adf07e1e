package profile

import "testing"

func TestIndexLines(t *testing.T) {
	src := `# comment
format = 1
policy.min_tls = "1.2"   # dotted key at top level

[ organisation ]
"name" = "X"
[policy]
encryption = """
[[recipient]]
not = "a key: inside a multi-line string"
"""
[[recipient]] # first
email = 'a@b.nz'
public_key = '''
-----BEGIN PGP PUBLIC KEY BLOCK-----
name = "not a key"
'''
[[ recipient ]]
email = "c@d.nz"
`
	ix := indexLines(src)
	cases := map[string]int{
		"format":                  2,
		"policy.min_tls":          3,
		"organisation":            5,
		"organisation.name":       6,
		"policy":                  7,
		"policy.encryption":       8,
		"recipient[1]":            12,
		"recipient[1].email":      13,
		"recipient[1].public_key": 14,
		"recipient[2]":            18,
		"recipient[2].email":      19,
		"recipient[2].colour":     18, // missing: its entry's line
		"recipient[1].name":       12, // inside the key block, not a key
		"recipient[3].email":      0,
	}
	for field, want := range cases {
		if got := ix.of(field); got != want {
			t.Errorf("%s: line %d, want %d", field, got, want)
		}
	}
	if f, l := ix.find("recipient.email"); f != "recipient[1].email" || l != 13 {
		t.Errorf("find: %s %d", f, l)
	}
	if _, ok := ix.line["recipient[1].not"]; ok {
		t.Error("a line inside a multi-line string was indexed")
	}
}
