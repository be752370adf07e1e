# securesend: the two commands a new user needs are
#   make run    install what the app needs, then start it
#   make test   install what the tests need, then run the whole suite
# Both work on a fresh Debian/Ubuntu machine (root or sudo).

SHELL := /usr/bin/env bash
export PATH := /usr/local/go/bin:$(PATH)
# Tools that install-deps puts in GOPATH/bin (staticcheck, fyne).
export PATH := $(shell PATH="/usr/local/go/bin:$$PATH" go env GOPATH)/bin:$(PATH)

GO ?= go
# no_emoji leaves Fyne's bundled 4 MB emoji font out of the GUI: about 16 MB
# less idle RSS (bench/gui-startup). Emoji in received text then come from a
# system font, or show as a box.
GOTAGS ?= no_emoji
TEST_TIMEOUT ?= 25m

# Fuzz targets run for a bounded time in every test run (package:Target).
FUZZTIME ?= 15s
FUZZ_TARGETS := receive:FuzzVerify crypto/pgp:FuzzImport send:FuzzHeaders crypto/pgpmime:FuzzRawReader crypto/pgpmime:FuzzDecodeQuanta crypto/pgpmime:FuzzArmorReader profile:FuzzParse ack:FuzzParse

.PHONY: run test build bench lint fuzz deps-run deps-test e2e windows

run: deps-run
	$(GO) run -tags $(GOTAGS) ./cmd/securesend

test: deps-test lint
	SECURESEND_PACKAGE_TEST=1 scripts/with-keyring.sh $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...
	$(MAKE) --no-print-directory fuzz

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz: $$fn in ./$$pkg for $(FUZZTIME)"; \
		scripts/with-keyring.sh $(GO) test -run='^$$' -fuzz="^$$fn\$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=50x ./$$pkg/ ; \
	done

# Only the end-to-end tests against a private Postfix and Dovecot.
e2e: deps-test
	scripts/with-keyring.sh $(GO) test -count=1 -v -timeout $(TEST_TIMEOUT) ./e2e/

# Only the Windows build (mingw-w64 cross-build) under Wine, against the
# same private Postfix and Dovecot (docs/testing.md).
windows: deps-test
	$(GO) test -count=1 -v -timeout $(TEST_TIMEOUT) ./e2e/windows/

build: deps-run
	mkdir -p bin
	$(GO) build -tags $(GOTAGS) -o bin/securesend ./cmd/securesend

bench: deps-test
	bench/send-rss.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@command -v staticcheck >/dev/null || { echo "staticcheck is not installed: run scripts/install-deps.sh test"; exit 1; }
	staticcheck ./...

deps-run:
	scripts/install-deps.sh run

deps-test:
	scripts/install-deps.sh test
