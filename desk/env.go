package desk

import "os"

// osGetenv is the default Options.Getenv.
func osGetenv(name string) string { return os.Getenv(name) }
