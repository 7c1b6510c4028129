# hermes-exec. The sandbox backend embeds libcontainer, which needs cgo, the
# seccomp build tag and Debian's libseccomp-dev.
GO        ?= go
BIN       ?= bin/hermes-exec
PREFIX    ?= /usr/local
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
TAGS      := seccomp,urfave_cli_no_docs
export CGO_ENABLED := 1
LDFLAGS   := -s -w -X main.version=$(VERSION)

.PHONY: build test test-short bench vet fmt install clean

build:
	$(GO) build -tags $(TAGS) -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/hermes-exec

# The whole suite: unit tests, fuzz seeds, and end-to-end tests of the built
# binary (some need root; CI runs as root).
test: vet
	$(GO) test -tags $(TAGS) -count=1 -timeout 15m ./...

test-short:
	$(GO) test -tags $(TAGS) -short ./...

vet:
	@test -z "$$(gofmt -l . | tee /dev/stderr)" || { echo 'gofmt: files above need formatting'; exit 1; }
	$(GO) vet -tags $(TAGS) ./...

bench: build
	$(GO) test -tags $(TAGS) -run '^$$' -bench . -benchmem ./policy/... ./shim/... ./isolate/...
	bench/startup.sh $(BIN)

fmt:
	gofmt -w .

install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/hermes-exec

clean:
	rm -rf bin
