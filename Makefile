# One entry point for every check. `make test` is what CI runs.
GO ?= go
export GOPROXY ?= https://proxy.golang.org
export GOFLAGS ?= -mod=readonly
BENCH_MESSAGES ?= 2000

STACKS ?= aws azure

.PHONY: test lint lint-workflows test-program test-apps render bench emulators-start emulators-stop

## test: formatting and vet, the Pulumi program under mocks, then the apps
## against the emulators
test: lint test-program test-apps

lint: lint-workflows
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd apps && $(GO) vet ./...
	cd scripts/tools && $(GO) vet ./...

## lint-workflows: the GitHub Actions workflows, with the pinned actionlint
lint-workflows:
	cd scripts/tools && $(GO) build -o ../../build/bin/actionlint github.com/rhysd/actionlint/cmd/actionlint
	build/bin/actionlint -color=false

## test-program: the program for every stack under Pulumi's mocks
test-program:
	$(GO) test -count=1 ./...

## render: what each stack would deploy, offline, in build/render/<stack>
render:
	@for stack in $(STACKS); do $(GO) run ./cmd/render --stack $$stack --out build/render/$$stack || exit 1; done

test-apps:
	scripts/with-emulators.sh $(GO) test -count=1 ./...

## bench: consumer throughput and API requests per message, both clouds
bench:
	scripts/with-emulators.sh $(GO) test -count=1 -run '^$$' -bench Consume -benchtime $(BENCH_MESSAGES)x ./e2e

emulators-start:
	scripts/emulators.sh start

emulators-stop:
	scripts/emulators.sh stop
