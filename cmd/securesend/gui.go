package main

import (
	"context"
	"fmt"
)

// runGUI opens the desktop app.
func runGUI(ctx context.Context, e *env) int {
	fmt.Fprintln(e.stderr, "securesend: the desktop app is not built yet; see 'securesend help'")
	return 1
}
