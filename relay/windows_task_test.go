package relay

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The Windows Task Scheduler definitions in docs/relay.md and
// docs/watch.md are checked here against the Task Scheduler schema as
// Microsoft documents it (learn.microsoft.com, "Task Scheduler Schema":
// taskType, triggerBaseType, bootTriggerType, principalType, settingsType,
// restartType, actionsType, execType and their simple types), as far as
// the definitions use it. Wine's schtasks cannot do this: it accepts
// unknown elements and out-of-range values (see docs/relay.md).

// taskNS is the Task Scheduler schema's namespace.
const taskNS = "http://schemas.microsoft.com/windows/2004/02/mit/task"

// xnode is one element of a parsed definition.
type xnode struct {
	name     string
	attrs    map[string]string
	children []*xnode
	text     string
}

// child returns n's first child called name, or nil.
func (n *xnode) child(name string) *xnode {
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

// path returns the text of the element at the path of names below n, "" when absent.
func (n *xnode) path(names ...string) string {
	for _, name := range names {
		if n = n.child(name); n == nil {
			return ""
		}
	}
	return n.text
}

// parseTask parses a definition: well-formed XML, every element in the
// schema's namespace, no mixed content.
func parseTask(data []byte) (*xnode, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	var stack []*xnode
	var root *xnode
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not well-formed XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space != taskNS {
				return nil, fmt.Errorf("element %s is in namespace %q, not the Task Scheduler's", t.Name.Local, t.Name.Space)
			}
			n := &xnode{name: t.Name.Local, attrs: map[string]string{}}
			for _, a := range t.Attr {
				if a.Name.Space == "" && a.Name.Local != "xmlns" {
					n.attrs[a.Name.Local] = a.Value
				}
			}
			if len(stack) == 0 {
				if root != nil {
					return nil, errors.New("more than one root element")
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(t)
			}
		}
	}
	if root == nil {
		return nil, errors.New("no root element")
	}
	return root, nil
}

// xtype is the shape of an element's content: either a simple type (leaf,
// checking the text) or child elements, in the given order (xs:sequence)
// or in any order (xs:all), each at most max times (1 when 0).
type xtype struct {
	leaf     func(string) error
	seq      bool
	children []xchild
	attrs    map[string]func(string) error
}

type xchild struct {
	name     string
	typ      *xtype
	required bool
	max      int
}

// check checks n against t; where names the element for messages.
func check(n *xnode, t *xtype, where string) error {
	for a, v := range n.attrs {
		f, ok := t.attrs[a]
		if !ok {
			return fmt.Errorf("%s: attribute %q is not allowed", where, a)
		}
		if err := f(v); err != nil {
			return fmt.Errorf("%s@%s: %w", where, a, err)
		}
	}
	if t.leaf != nil {
		if len(n.children) > 0 {
			return fmt.Errorf("%s: a simple value may not contain elements", where)
		}
		if err := t.leaf(strings.TrimSpace(n.text)); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		return nil
	}
	if strings.TrimSpace(n.text) != "" {
		return fmt.Errorf("%s: text %q where only elements may stand", where, strings.TrimSpace(n.text))
	}
	count := map[string]int{}
	pos := 0
	for _, c := range n.children {
		i := -1
		for j, want := range t.children {
			if want.name == c.name {
				i = j
			}
		}
		if i < 0 {
			return fmt.Errorf("%s: element %s is not allowed here", where, c.name)
		}
		if t.seq && i < pos {
			return fmt.Errorf("%s: element %s comes after %s, but the schema's sequence puts it before", where, c.name, t.children[pos].name)
		}
		pos = i
		count[c.name]++
		if max := max(t.children[i].max, 1); count[c.name] > max {
			return fmt.Errorf("%s: element %s appears %d times (at most %d)", where, c.name, count[c.name], max)
		}
		if err := check(c, t.children[i].typ, where+"/"+c.name); err != nil {
			return err
		}
	}
	for _, want := range t.children {
		if want.required && count[want.name] == 0 {
			return fmt.Errorf("%s: required element %s is missing", where, want.name)
		}
	}
	return nil
}

// Simple types.

func leaf(f func(string) error) *xtype { return &xtype{leaf: f} }

var (
	xstring   = leaf(func(string) error { return nil })
	xnonEmpty = leaf(func(s string) error {
		if s == "" {
			return errors.New("must not be empty")
		}
		return nil
	})
	xboolean = leaf(func(s string) error {
		switch s {
		case "true", "false", "1", "0":
			return nil
		}
		return fmt.Errorf("%q is not an xs:boolean", s)
	})
	xduration = leaf(func(s string) error { _, err := durationSeconds(s); return err })
)

func xenum(values ...string) *xtype {
	return leaf(func(s string) error {
		for _, v := range values {
			if s == v {
				return nil
			}
		}
		return fmt.Errorf("%q is not one of %s", s, strings.Join(values, ", "))
	})
}

func xint(lo, hi int) *xtype {
	return leaf(func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("%q is not an integer from %d to %d", s, lo, hi)
		}
		return nil
	})
}

// xdurationIn is a duration from lo to hi seconds.
func xdurationIn(lo, hi int64) *xtype {
	return leaf(func(s string) error {
		d, err := durationSeconds(s)
		if err != nil {
			return err
		}
		if d < lo || d > hi {
			return fmt.Errorf("%s is outside the allowed %d s to %d s", s, lo, hi)
		}
		return nil
	})
}

var durationRE = regexp.MustCompile(`^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$`)

// durationSeconds reads an xs:duration in days, hours, minutes and whole
// seconds (years and months, which have no fixed length, are refused).
func durationSeconds(s string) (int64, error) {
	m := durationRE.FindStringSubmatch(s)
	if m == nil || s == "P" || strings.HasSuffix(s, "T") {
		return 0, fmt.Errorf("%q is not a duration such as PT1M or P1DT2H", s)
	}
	var total int64
	for i, unit := range []int64{86400, 3600, 60, 1} {
		if m[i+1] != "" {
			n, err := strconv.ParseInt(m[i+1], 10, 32)
			if err != nil {
				return 0, fmt.Errorf("%q: %w", s, err)
			}
			total += n * unit
		}
	}
	return total, nil
}

// taskSchema is the part of the schema the definitions use.
var taskSchema = func() *xtype {
	idAttr := map[string]func(string) error{"id": func(s string) error {
		if !regexp.MustCompile(`^[A-Za-z_][\w.-]*$`).MatchString(s) {
			return fmt.Errorf("%q is not an xs:ID", s)
		}
		return nil
	}}
	// triggerBaseType is a sequence; bootTriggerType and logonTriggerType extend it.
	base := []xchild{{name: "Enabled", typ: xboolean}, {name: "StartBoundary", typ: xnonEmpty}, {name: "EndBoundary", typ: xnonEmpty},
		{name: "ExecutionTimeLimit", typ: xduration}}
	boot := &xtype{seq: true, attrs: idAttr, children: append(append([]xchild{}, base...), xchild{name: "Delay", typ: xduration})}
	logon := &xtype{seq: true, attrs: idAttr, children: append(append([]xchild{}, base...), xchild{name: "UserId", typ: xnonEmpty}, xchild{name: "Delay", typ: xduration})}
	return &xtype{
		attrs: map[string]func(string) error{"version": func(s string) error {
			if !regexp.MustCompile(`^1\.[2-6]$`).MatchString(s) {
				return fmt.Errorf("version %q: BootTrigger's Delay needs 1.2 or later", s)
			}
			return nil
		}},
		children: []xchild{
			{name: "RegistrationInfo", typ: &xtype{children: []xchild{
				{name: "Description", typ: xstring}, {name: "Author", typ: xstring}, {name: "URI", typ: xstring},
				{name: "Date", typ: xnonEmpty}, {name: "Version", typ: xstring}, {name: "Documentation", typ: xstring}, {name: "Source", typ: xstring}}}},
			{name: "Triggers", typ: &xtype{children: []xchild{{name: "BootTrigger", typ: boot, max: 48}, {name: "LogonTrigger", typ: logon, max: 48}}}},
			{name: "Principals", typ: &xtype{children: []xchild{{name: "Principal", required: true, typ: &xtype{attrs: idAttr, children: []xchild{
				{name: "UserId", typ: xnonEmpty}, {name: "GroupId", typ: xnonEmpty}, {name: "DisplayName", typ: xstring},
				{name: "LogonType", typ: xenum("S4U", "Password", "InteractiveToken", "InteractiveTokenOrPassword")},
				{name: "RunLevel", typ: xenum("LeastPrivilege", "HighestAvailable")}}}}}}},
			{name: "Settings", typ: &xtype{children: []xchild{
				{name: "AllowStartOnDemand", typ: xboolean},
				{name: "RestartOnFailure", typ: &xtype{children: []xchild{
					{name: "Interval", typ: xdurationIn(60, 31*86400), required: true},
					{name: "Count", typ: xint(1, 255), required: true}}}},
				{name: "MultipleInstancesPolicy", typ: xenum("Parallel", "Queue", "IgnoreNew", "StopExisting")},
				{name: "DisallowStartIfOnBatteries", typ: xboolean}, {name: "StopIfGoingOnBatteries", typ: xboolean},
				{name: "AllowHardTerminate", typ: xboolean}, {name: "StartWhenAvailable", typ: xboolean},
				{name: "RunOnlyIfNetworkAvailable", typ: xboolean}, {name: "WakeToRun", typ: xboolean},
				{name: "Enabled", typ: xboolean}, {name: "Hidden", typ: xboolean}, {name: "RunOnlyIfIdle", typ: xboolean},
				{name: "DeleteExpiredTaskAfter", typ: xduration}, {name: "ExecutionTimeLimit", typ: xduration},
				{name: "Priority", typ: xint(0, 10)}}}},
			{name: "Actions", required: true, typ: &xtype{
				attrs: map[string]func(string) error{"Context": func(string) error { return nil }},
				seq:   true,
				children: []xchild{{name: "Exec", max: 32, typ: &xtype{seq: true, attrs: idAttr, children: []xchild{
					{name: "Command", typ: xnonEmpty, required: true}, {name: "Arguments", typ: xstring}, {name: "WorkingDirectory", typ: xstring}}}}},
			}},
		},
	}
}()

// checkTask checks a definition against the schema's shape and against
// what a long-running securesend task needs; command is the securesend
// command it must run ("relay", "inbox watch").
func checkTask(data []byte, command string) error {
	root, err := parseTask(data)
	if err != nil {
		return err
	}
	if root.name != "Task" {
		return fmt.Errorf("the root element is %s, not Task", root.name)
	}
	if err := check(root, taskSchema, "Task"); err != nil {
		return err
	}
	p := root.child("Principals")
	if p == nil {
		return errors.New("no Principals: the task would run as whoever registers it, with its default logon")
	}
	pr := p.child("Principal")
	if ctx := root.child("Actions").attrs["Context"]; ctx != pr.attrs["id"] {
		return fmt.Errorf("Actions Context %q does not name the principal (id %q)", ctx, pr.attrs["id"])
	}
	if lt := pr.path("LogonType"); lt != "Password" {
		return fmt.Errorf("LogonType %q: securesend's secrets are in the user's Credential Manager, which only a password logon (with the user's profile) can read", lt)
	}
	if tr := root.child("Triggers"); tr == nil || tr.child("BootTrigger") == nil {
		return errors.New("no BootTrigger: the task would not start with the computer")
	}
	checks := []struct {
		path      []string
		want, why string
	}{
		{[]string{"Settings", "ExecutionTimeLimit"}, "PT0S", "without it the Task Scheduler stops the task after 72 hours"},
		{[]string{"Settings", "DisallowStartIfOnBatteries"}, "false", "the default (true) does not start it on a laptop on battery"},
		{[]string{"Settings", "StopIfGoingOnBatteries"}, "false", "the default (true) stops it when the power goes"},
	}
	for _, c := range checks {
		if got := root.path(c.path...); got != c.want {
			return fmt.Errorf("%s is %q, want %q: %s", strings.Join(c.path, "/"), got, c.want, c.why)
		}
	}
	if mip := root.path("Settings", "MultipleInstancesPolicy"); mip != "" && mip != "IgnoreNew" {
		return fmt.Errorf("MultipleInstancesPolicy %q: a second instance would find the port or the journal taken", mip)
	}
	if root.child("Settings").child("RestartOnFailure") == nil {
		return errors.New("no RestartOnFailure: after a failure the task stays down until the next boot")
	}
	execs := root.child("Actions").children
	if len(execs) != 1 {
		return fmt.Errorf("%d actions, want the one securesend command", len(execs))
	}
	if cmd := execs[0].path("Command"); !strings.HasSuffix(strings.ToLower(strings.Trim(cmd, `"`)), `\securesend.exe`) {
		return fmt.Errorf("Command %q does not run securesend.exe", cmd)
	}
	if args := execs[0].path("Arguments"); !strings.HasPrefix(args, command+" ") {
		return fmt.Errorf("Arguments %q do not start with %q", args, command)
	}
	return nil
}

// docTask returns the one ```xml block of a doc and the schtasks /Create
// line that registers it.
func docTask(t *testing.T, doc string) (xmlText []byte, create string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docs", doc))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```xml\n(.*?)```").FindAllSubmatch(b, -1)
	if len(blocks) != 1 {
		t.Fatalf("%s has %d task definitions (```xml blocks), want 1", doc, len(blocks))
	}
	m := regexp.MustCompile(`(?m)^schtasks /Create .*$`).Find(b)
	return blocks[0][1], string(m)
}

// TestWindowsTaskDefinitions: the relay's and the watch's Task Scheduler
// definitions in the docs fit the schema and what a long-running task
// needs, and the command line that registers them gives the user and asks
// for the password.
func TestWindowsTaskDefinitions(t *testing.T) {
	for _, c := range []struct{ doc, command string }{{"relay.md", "relay"}, {"watch.md", "inbox watch"}} {
		t.Run(c.doc, func(t *testing.T) {
			x, create := docTask(t, c.doc)
			if err := checkTask(x, c.command); err != nil {
				t.Fatal(err)
			}
			for _, flag := range []string{"/XML ", "/RU ", "/RP *", "/TN "} {
				if !strings.Contains(create, flag) {
					t.Errorf("the registering line %q has no %s", create, flag)
				}
			}
		})
	}
}

// TestWindowsTaskCheckRefuses: the check is not a rubber stamp. Each
// variant of the relay's definition, most of them ones Wine's schtasks
// accepted, is refused for its own reason.
func TestWindowsTaskCheckRefuses(t *testing.T) {
	good, _ := docTask(t, "relay.md")
	if err := checkTask(good, "relay"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, old, new, want string
	}{
		{"count 999 as the dialog offers", "<Count>255</Count>", "<Count>999</Count>", "Count: \"999\" is not an integer from 1 to 255"},
		{"count not a number", "<Count>255</Count>", "<Count>lots</Count>", "is not an integer"},
		{"interval under a minute", "<Interval>PT1M</Interval>", "<Interval>PT30S</Interval>", "outside the allowed"},
		{"interval only", "<Count>255</Count>", "", "required element Count is missing"},
		{"unknown element", "<Enabled>true</Enabled>\n    <ExecutionTimeLimit>", "<Enabled>true</Enabled>\n    <Bogus>1</Bogus>\n    <ExecutionTimeLimit>", "element Bogus is not allowed"},
		{"misspelt logon type", "<LogonType>Password</LogonType>", "<LogonType>Pasword</LogonType>", `"Pasword" is not one of`},
		{"S4U logon", "<LogonType>Password</LogonType>", "<LogonType>S4U</LogonType>", "Credential Manager"},
		{"delay before enabled", "<Enabled>true</Enabled>\n      <Delay>PT30S</Delay>", "<Delay>PT30S</Delay>\n      <Enabled>true</Enabled>", "sequence puts it before"},
		{"bad duration", "<Delay>PT30S</Delay>", "<Delay>30 seconds</Delay>", "is not a duration"},
		{"72-hour default limit", "    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>\n", "", "72 hours"},
		{"stops on battery", "<StopIfGoingOnBatteries>false", "<StopIfGoingOnBatteries>true", "the power goes"},
		{"no restart", "<RestartOnFailure>\n      <Interval>PT1M</Interval>\n      <Count>255</Count>\n    </RestartOnFailure>", "", "no RestartOnFailure"},
		{"context names no principal", `<Actions Context="Author">`, `<Actions Context="Admin">`, "does not name the principal"},
		{"no actions", "<Actions Context=\"Author\">", "<Nothing Context=\"Author\">", "not allowed"},
		{"no trigger", "<BootTrigger>\n      <Enabled>true</Enabled>\n      <Delay>PT30S</Delay>\n    </BootTrigger>", "", "no BootTrigger"},
		{"wrong namespace", `xmlns="` + taskNS + `"`, `xmlns="urn:example"`, "not the Task Scheduler's"},
		{"version 1.1", `version="1.2"`, `version="1.1"`, "needs 1.2"},
		{"cut short", "</Task>", "", "not well-formed"},
		{"other program", `securesend\securesend.exe`, `securesend\notepad.exe`, "does not run securesend.exe"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !bytes.Contains(good, []byte(tc.old)) {
				t.Fatalf("the definition has no %q to change", tc.old)
			}
			bad := bytes.Replace(good, []byte(tc.old), []byte(tc.new), 1)
			if tc.name == "no actions" {
				bad = bytes.Replace(bad, []byte("</Actions>"), []byte("</Nothing>"), 1)
			}
			err := checkTask(bad, "relay")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("checkTask = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
