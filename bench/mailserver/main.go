// Command mailserver runs the test Postfix + Dovecot pair from
// internal/mailserver until it is interrupted, for benchmarks and manual
// trials of securesend against a real mail server. It must run as root.
//
//	go run ./bench/mailserver -info /tmp/mail.json
//
// The JSON file names the ports, the CA file, the users and their password.
// It is written once every listener is up; stop the server with SIGINT or
// SIGTERM.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/securesend/securesend/internal/mailserver"
)

// info is what the -info file holds.
type info struct {
	Host       string   `json:"host"`
	Submission int      `json:"submission"`
	SMTPS      int      `json:"smtps"`
	Plain      int      `json:"plain"`
	IMAPS      int      `json:"imaps"`
	CAFile     string   `json:"ca_file"`
	Users      []string `json:"users"`
	Password   string   `json:"password"`
	Dir        string   `json:"dir"`
}

func main() {
	infoFile := flag.String("info", "", "write the server's ports, CA file, users and password as JSON to `file`")
	flag.Parse()
	if err := run(*infoFile); err != nil {
		fmt.Fprintln(os.Stderr, "mailserver:", err)
		os.Exit(1)
	}
}

func run(infoFile string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := mailserver.Start(ctx, mailserver.Options{})
	if err != nil {
		return err
	}
	defer s.Stop()
	data, err := json.MarshalIndent(info{
		Host: mailserver.Host, Submission: s.Submission, SMTPS: s.SMTPS, Plain: s.Plain, IMAPS: s.IMAPS,
		CAFile: s.CAFile, Users: s.Users, Password: s.Password, Dir: s.Dir,
	}, "", "  ")
	if err != nil {
		return err
	}
	if infoFile != "" {
		if err := os.WriteFile(infoFile, data, 0o600); err != nil {
			return err
		}
	} else {
		fmt.Printf("%s\n", data)
	}
	fmt.Fprintf(os.Stderr, "mailserver: running in %s; interrupt to stop\n", s.Dir)
	<-ctx.Done()
	return nil
}
