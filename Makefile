# hermes-exec is these programs:
#   bin/hermes-exec          the wrapper, on the path of every command: pure
#                            Go, static, nothing initialised it does not need
#   bin/hermes-exec-admin    the subcommands (gateway, doctor, audit, secrets,
#                            check, run, ...), which hermes-exec execs: they
#                            link net/http, TLS, the chat bridges, urfave/cli
#   bin/hermes-exec-sandbox  the sandbox backend: embeds libcontainer, which
#                            needs cgo, the seccomp build tag and libseccomp-dev
#   bin/hermes-exec-containerd        the containerd backend: links the containerd
#                            v2 client (large, pure Go, static)
#   bin/hermes-exec-containerd-init   pid 1 and command starter inside its
#                            containers: tiny and static, runs in any image
GO        ?= go
BINDIR    ?= bin
PREFIX    ?= /usr/local
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
NODOCS    := urfave_cli_no_docs
# EXTRATAGS adds build tags (tests/ builds with hermes_testpolicy, which lets
# the tests point both binaries at their own policy file and supervisor).
EXTRATAGS ?=
comma     := ,
TAGS      := $(NODOCS)$(if $(EXTRATAGS),$(comma)$(EXTRATAGS))
LDFLAGS   := -s -w -X main.version=$(VERSION)
STATICCHECK ?= $(shell $(GO) env GOPATH)/bin/staticcheck
# Packages with goroutines and shared state worth the race detector: the
# flow and its audit log, config edits under a lock, the host backend's
# signal relay, the terminal approver, the exec checks' supervisor.
RACE_PKGS := ./shim/... ./policy/config/... ./isolate/ ./approval/... ./internal/... ./execcheck/...

.PHONY: build test test-race test-short bench vet lint fmt install clean

build:
	CGO_ENABLED=0 $(GO) build -tags $(TAGS) -trimpath -ldflags '$(LDFLAGS)' -o $(BINDIR)/hermes-exec ./cmd/hermes-exec
	CGO_ENABLED=0 $(GO) build -tags $(TAGS) -trimpath -ldflags '$(LDFLAGS)' -o $(BINDIR)/hermes-exec-admin ./cmd/hermes-exec-admin
	CGO_ENABLED=1 $(GO) build -tags seccomp,$(TAGS) -trimpath -ldflags '$(LDFLAGS)' -o $(BINDIR)/hermes-exec-sandbox ./cmd/hermes-exec-sandbox
	CGO_ENABLED=0 $(GO) build -tags $(TAGS) -trimpath -ldflags '$(LDFLAGS)' -o $(BINDIR)/hermes-exec-containerd ./cmd/hermes-exec-containerd
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $(BINDIR)/hermes-exec-containerd-init ./cmd/hermes-exec-containerd/init

# The whole suite: unit tests, fuzz seeds, and end-to-end tests of the built
# binaries (some need root; CI runs as root, with HERMES_TEST_REQUIRE_ALL=1 so
# that a test skipped for a missing capability fails instead), then the race
# detector over RACE_PKGS.
test: vet
	CGO_ENABLED=1 $(GO) test -tags seccomp,$(NODOCS) -count=1 -timeout 15m ./...
	$(MAKE) test-race

test-race:
	CGO_ENABLED=1 $(GO) test -tags seccomp,$(NODOCS) -race -count=1 -timeout 10m $(RACE_PKGS)

# Unit tests only: -short skips the end-to-end tests (which build and run the
# binaries) and the sandbox's container tests.
test-short:
	CGO_ENABLED=1 $(GO) test -tags seccomp,$(NODOCS) -short ./...

# staticcheck: go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint: vet
	@test -x $(STATICCHECK) || { echo 'lint: no staticcheck at $(STATICCHECK): go install honnef.co/go/tools/cmd/staticcheck@v0.8.2'; exit 1; }
	CGO_ENABLED=1 $(STATICCHECK) -tags seccomp,$(NODOCS) ./...

vet:
	@out=$$(gofmt -l .); test -z "$$out" || { echo "$$out" >&2; echo 'gofmt: files above need formatting'; exit 1; }
	CGO_ENABLED=1 $(GO) vet -tags seccomp,$(NODOCS) ./...

bench: build
	CGO_ENABLED=1 $(GO) test -tags seccomp,$(NODOCS) -run '^$$' -bench . -benchmem ./policy/... ./policy/config/... ./shim/... ./isolate/
	bench/startup.sh $(BINDIR)/hermes-exec
	bench/hotpath.sh $(BINDIR)/hermes-exec
	bench/audit.sh $(BINDIR)/hermes-exec
	$(GO) run ./bench/gateway
	bench/execcheck/run.sh $(BINDIR)/hermes-exec
	bench/execcheck/scripts.sh $(BINDIR)/hermes-exec
	bench/sandbox/run.sh

fmt:
	gofmt -w .

install: build
	install -D -m 0755 $(BINDIR)/hermes-exec $(DESTDIR)$(PREFIX)/bin/hermes-exec
	install -D -m 0755 $(BINDIR)/hermes-exec-admin $(DESTDIR)$(PREFIX)/bin/hermes-exec-admin
	install -D -m 0755 $(BINDIR)/hermes-exec-sandbox $(DESTDIR)$(PREFIX)/bin/hermes-exec-sandbox
	install -D -m 0755 $(BINDIR)/hermes-exec-containerd $(DESTDIR)$(PREFIX)/bin/hermes-exec-containerd
	install -D -m 0755 $(BINDIR)/hermes-exec-containerd-init $(DESTDIR)$(PREFIX)/bin/hermes-exec-containerd-init

clean:
	rm -rf $(BINDIR)
