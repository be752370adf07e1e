# securesend: the two commands a new user needs are
#   make run    install what the app needs, then start it
#   make test   install what the tests need, then run the whole suite
# Both work on a fresh Debian/Ubuntu machine (root or sudo).

SHELL := /usr/bin/env bash
export PATH := /usr/local/go/bin:$(HOME)/go/bin:$(PATH)

GO ?= go
TEST_TIMEOUT ?= 25m
STATICCHECK := $(shell command -v staticcheck 2>/dev/null)

.PHONY: run test build bench lint deps-run deps-test e2e

run: deps-run
	$(GO) run ./cmd/securesend

test: deps-test
	$(GO) vet ./...
	scripts/with-keyring.sh $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

# Only the end-to-end tests against a private Postfix and Dovecot.
e2e: deps-test
	scripts/with-keyring.sh $(GO) test -count=1 -v -timeout $(TEST_TIMEOUT) ./e2e/

build: deps-run
	mkdir -p bin
	$(GO) build -o bin/securesend ./cmd/securesend

bench: deps-test
	bench/send-rss.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
ifneq ($(STATICCHECK),)
	$(STATICCHECK) ./...
else
	@echo "staticcheck not installed; skipped (go install honnef.co/go/tools/cmd/staticcheck@latest)"
endif

deps-run:
	scripts/install-deps.sh run

deps-test:
	scripts/install-deps.sh test
