# One entry point for every check. `make test` is what CI runs.
GO ?= go
export GOPROXY ?= https://proxy.golang.org
export GOFLAGS ?= -mod=readonly
BENCH_MESSAGES ?= 2000

STACKS ?= aws azure

.PHONY: test tools lint lint-workflows test-program conformance test-apps render bench emulators-start emulators-stop

## test: formatting and vet, the Pulumi program under mocks, then the apps
## against the emulators
test: lint test-program conformance test-apps

lint: lint-workflows
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd apps && $(GO) vet ./...
	cd scripts/tools && $(GO) vet ./...
	cd conformance/keda && $(GO) vet ./...

## tools: the pinned checkers (scripts/tools/go.mod) in build/bin
tools:
	cd scripts/tools && $(GO) build -o ../../build/bin/ github.com/rhysd/actionlint/cmd/actionlint sigs.k8s.io/kubectl-validate

## lint-workflows: the GitHub Actions workflows
lint-workflows: tools
	build/bin/actionlint -color=false

## test-program: the program for every stack under Pulumi's mocks, and
## its Kubernetes objects against the upstream schemas
test-program: tools
	$(GO) test -count=1 ./...

## conformance: the rendered objects against the upstream schemas, and the
## rendered KEDA triggers through KEDA's own scalers against the emulators
conformance: tools render
	$(GO) test -count=1 -run 'Schema' ./stacks
	KEDA_CHECK_UNEXPECTED_SCALERS_PARAMS=enabled EDW_RENDER_DIR=$(CURDIR)/build/render \
		scripts/with-emulators.sh sh -c 'cd ../conformance/keda && $(GO) test -count=1 -v ./...'


## render: what each stack would deploy, offline, in build/render/<stack>
render:
	$(GO) build -o build/bin/render ./cmd/render
	@for stack in $(STACKS); do build/bin/render --stack $$stack --out build/render/$$stack || exit 1; done

test-apps:
	scripts/with-emulators.sh $(GO) test -count=1 ./...

## bench: consumer throughput and API requests per message, both clouds
bench:
	scripts/with-emulators.sh $(GO) test -count=1 -run '^$$' -bench Consume -benchtime $(BENCH_MESSAGES)x ./e2e

emulators-start:
	scripts/emulators.sh start

emulators-stop:
	scripts/emulators.sh stop
