package main

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"os"

	fyneapp "fyne.io/fyne/v2/app"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/app"
	"github.com/securesend/securesend/assets"
	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/internal/demomail"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/send"
)

// appID is the application identifier (also in FyneApp.toml).
const appID = "nz.securesend.app"

// runGUI opens the desktop app. With no account in the home directory (or
// with SECURESEND_DEMO=1) it starts the loopback demo mail system and opens
// the app in demo mode.
func runGUI(ctx context.Context, e *env) int {
	h, err := home.Resolve(e.getenv)
	if err != nil {
		return errorf(e, "%v", err)
	}
	accounts, err := configuredAccounts(h)
	if err != nil {
		return errorf(e, "%v", err)
	}
	fa := fyneapp.NewWithID(appID)
	var cfg app.Config
	if len(accounts) == 0 || e.getenv("SECURESEND_DEMO") == "1" {
		sys, err := demomail.Start(ctx)
		if err != nil {
			return errorf(e, "demo mode: %v", err)
		}
		defer sys.Close()
		tmp, err := os.MkdirTemp("", "securesend-demo-")
		if err != nil {
			return errorf(e, "demo mode: %v", err)
		}
		defer os.RemoveAll(tmp)
		samples, err := assets.WriteSamples(tmp + "/samples")
		if err != nil {
			return errorf(e, "demo mode: %v", err)
		}
		cfg = app.DemoConfig(sys, samples, tmp+"/received")
		cfg.TempDir = tmp
		fmt.Fprintln(e.stderr, "securesend: no account set up, so the app opens in demo mode (nothing leaves this computer)")
	} else {
		cfg = accountConfig(h, accounts[0])
	}
	cfg.Home = h
	u := app.New(fa, cfg)
	if dir := e.getenv("SECURESEND_SCREENSHOT_TOUR"); dir != "" {
		go u.Tour(dir)
	}
	go func() {
		<-ctx.Done()
		fa.Quit()
	}()
	u.ShowAndRun()
	return 0
}

// configuredAccounts lists the accounts in h; none when accounts.json does
// not exist.
func configuredAccounts(h home.Home) ([]account.Account, error) {
	if _, err := os.Stat(h.Path(account.FileName)); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return account.NewStore(h, keychain.New(h.KeychainService())).List()
}

// accountConfig wires the app to a real account: sending through it with
// the send package. The inbox and signing are not wired to the GUI yet.
func accountConfig(h home.Home, a account.Account) app.Config {
	secrets := keychain.New(h.KeychainService())
	return app.Config{
		From: mail.Address{Address: a.Email},
		Send: func(ctx context.Context, m *send.Message, progress func(int64)) (*send.Result, error) {
			opts, err := a.SendOptions(ctx, secrets)
			if err != nil {
				return nil, err
			}
			opts.Progress = progress
			return send.Send(ctx, opts, m)
		},
		InboxOwner: a.Email,
		Settings: []app.Setting{
			{Name: "Account", Value: a.Name},
			{Name: "Mail server (sending)", Value: fmt.Sprintf("%s (%s)", a.SMTP.Address, a.SMTP.Security)},
			{Name: "Mail server (inbox)", Value: fmt.Sprintf("%s (%s)", a.IMAP.Address, a.IMAP.Security)},
			{Name: "REQUIRETLS required", Value: fmt.Sprint(a.RequireTLS)},
		},
	}
}
