# CIAM MFA. `make run` starts the whole system on loopback; `make test` runs
# every test. Both need only Go; everything else is fetched by the module
# proxy and built into bin/.

SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
MAILPIT_VERSION := v1.33.1
STATICCHECK_VERSION := v0.8.2
PKGS := ./pkg/... ./templates/... ./services/api/... ./services/email-worker/... \
	./services/sms-worker/... ./services/mfactl/... ./e2e/... ./bench/...
CMDS := ./services/api/cmd/mfa-api ./services/email-worker/cmd/mfa-email-worker \
	./services/sms-worker/cmd/mfa-sms-worker ./services/mfactl/cmd/mfactl

.PHONY: all build run test test-short lint fmt vet staticcheck bench fuzz mailpit clean

all: build

## build: the four binaries in bin/
build:
	$(GO) build -trimpath -o $(BIN)/ $(CMDS)

## mailpit: the local SMTP server make run uses (no web UI in this build)
mailpit: $(BIN)/mailpit
$(BIN)/mailpit:
	GOBIN=$(BIN) $(GO) install github.com/axllent/mailpit@$(MAILPIT_VERSION)

## run: the whole system on loopback in the dev profile; Ctrl-C stops it
run: build mailpit
	./scripts/run-dev.sh

## test: every test of every module, with the race detector
test:
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

## test-short: the tests without the race detector, for a quick loop
test-short:
	$(GO) test -count=1 $(PKGS)

## lint: gofmt, go vet and staticcheck on every module
lint: fmt vet staticcheck

fmt:
	@out=$$(gofmt -l pkg templates services e2e bench); if [ -n "$$out" ]; then \
		echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

staticcheck:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) $(PKGS)

## bench: the Go benchmarks, then the system benchmark table (BENCH_QUICK=1:
## a short run; BENCH_SWEEP=off|on: skip or force the wait for the sweeper;
## BENCH_PROFILE=dir: perf recordings of mfa-api)
bench: bench-go bench-system

.PHONY: bench-go bench-system bench-smoke

## bench-go: the Go benchmarks of the hot functions
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

## bench-smoke: every Go benchmark once, to prove they still run (CI)
bench-smoke:
	$(GO) test -run '^$$' -bench . -benchtime 1x $(PKGS)

## bench-system: the whole system on loopback under load, printed as one table
bench-system:
	$(GO) run ./bench/cmd/mfabench

## fuzz: each fuzz target for 200,000 inputs
fuzz:
	./scripts/fuzz.sh 200000x

clean:
	rm -rf $(BIN)
