# One entry point for every check. `make test` is what CI runs.
GO ?= go
export GOPROXY ?= https://proxy.golang.org
export GOFLAGS ?= -mod=readonly
BENCH_MESSAGES ?= 2000

.PHONY: test lint test-apps bench emulators-start emulators-stop

## test: formatting, vet, then every test of the apps against the emulators
test: lint test-apps

lint:
	@out=$$(gofmt -l apps scripts/tools); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	cd apps && $(GO) vet ./...
	cd scripts/tools && $(GO) vet ./...

test-apps:
	scripts/with-emulators.sh $(GO) test -count=1 ./...

## bench: consumer throughput and API requests per message, both clouds
bench:
	scripts/with-emulators.sh $(GO) test -count=1 -run '^$$' -bench Consume -benchtime $(BENCH_MESSAGES)x ./e2e

emulators-start:
	scripts/emulators.sh start

emulators-stop:
	scripts/emulators.sh stop
