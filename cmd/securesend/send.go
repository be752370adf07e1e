package main

import (
	"context"
	"flag"
)

func sendCommand() command {
	return command{
		name:    "send",
		summary: "send documents securely over TLS-enforced SMTP",
		run: func(ctx context.Context, e *env, args []string) int {
			fs := flag.NewFlagSet("send", flag.ContinueOnError)
			fs.SetOutput(e.stderr)
			if err := fs.Parse(args); err != nil {
				return 2
			}
			return errorf(e, "send: not implemented yet")
		},
	}
}
