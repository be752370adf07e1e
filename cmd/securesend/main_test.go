package main

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary act as the securesend command inside
// testscript scenarios.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"securesend": func() { os.Exit(mainExit()) },
	})
}

// TestScripts runs the CLI scenarios in testdata/*.txtar as a user types
// them. Each runs in its own work directory with its own SECURESEND_HOME.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("SECURESEND_HOME", env.WorkDir+"/home")
			// the keychain (scripts/with-keyring.sh): send queues in the
			// outbox, whose key is in the keychain
			for _, k := range []string{"DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR", "XDG_DATA_HOME"} {
				env.Setenv(k, os.Getenv(k))
			}
			return nil
		},
	})
}
