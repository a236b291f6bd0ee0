# One entry point for every check. CI runs .ci/run, which runs `make test`.
GO ?= go
# The environment's module proxy, without the fallback to version control
# (which cannot be reached from CI).
export GOPROXY := $(shell go env GOPROXY | sed 's/,direct$$//')
export GOFLAGS ?= -mod=readonly
BENCH_MESSAGES ?= 2000

STACKS ?= aws azure
# The lab: which stack, and the burst. The burst must outlast what one
# consumer pod drains before the HPA's first sync (up to 25 s after KEDA
# activates): about 1,300 messages/s against the SQS and DynamoDB
# emulators, 100 to 500 against Azurite, which deletes one message a call
# and slows with every message it holds (and with the machine's load).
STACK ?= aws
LAB_MESSAGES_aws := 40000
LAB_RATE_aws := 2000
LAB_MESSAGES_azure := 5000
LAB_RATE_azure := 600
LAB_MESSAGES ?= $(LAB_MESSAGES_$(STACK))
LAB_RATE ?= $(LAB_RATE_$(STACK))
LAB_FLAGS ?=
# Where a run writes, its Pulumi state included (emptied first).
LAB_OUT ?= build/lab/$(STACK)
# LAB_SET is config over the stack's file for a lab run, e.g.
# LAB_SET="edw:kedaQueueLength=50 edw:kedaCooldownPeriodSeconds=30"
LAB_SET ?=
LAB_SETTINGS = $(foreach s,$(LAB_SET),-set $(s))

.PHONY: test-mutations test-engine engine-build test tools lint lint-workflows test-program conformance test-apps test-lab render bench emulators-start emulators-stop lab lab-check lab-compare lab-scale lab-poison lab-build lab-sudo clean

## test: formatting and vet, the Pulumi program under mocks, the apps
## against the emulators, the program through the real engine, then a short
## lab run of each stack
test: lab-sudo lint test-program conformance test-apps test-lab test-engine lab-check

lint: lint-workflows
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd apps && $(GO) vet ./...
	cd scripts/tools && $(GO) vet ./...
	cd conformance/keda && $(GO) vet ./...
	cd lab && $(GO) vet ./...
	cd engine/standin && $(GO) vet ./...
	$(GO) vet -tags engine ./engine

## tools: the pinned checkers (scripts/tools/go.mod, and kube-score in its
## own module) in build/bin
tools:
	cd scripts/tools && $(GO) build -o ../../build/bin/ github.com/rhysd/actionlint/cmd/actionlint sigs.k8s.io/kubectl-validate
	cd scripts/tools/kubescore && $(GO) build -o ../../../build/bin/ github.com/zegl/kube-score/cmd/kube-score
	cd scripts/tools/prometheus && $(GO) build -o ../../../build/bin/ github.com/prometheus/prometheus/cmd/promtool

## lint-workflows: the GitHub Actions workflows and the scripts they run,
## with shellcheck (actionlint checks the workflows' run: blocks with it
## too, when it is installed; CI installs it)
lint-workflows: tools
	@command -v shellcheck >/dev/null || { [ -z "$$CI" ] && echo "lint-workflows: shellcheck not installed; skipping the shell checks"; } || { echo "lint-workflows: shellcheck is required under CI"; exit 1; }
	build/bin/actionlint -color=false
	if command -v shellcheck >/dev/null; then shellcheck .ci/run scripts/*.sh scripts/ci/*.sh; fi

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
	cd conformance/iam && npm ci --no-audit --no-fund && EDW_RENDER_DIR=$(CURDIR)/build/render node --test
	cd conformance/cloudspec && npm ci --no-audit --no-fund --loglevel=error && EDW_RENDER_DIR=$(CURDIR)/build/render node --test


## render: what each stack would deploy, offline, in build/render/<stack>, and
## the AWS stack with EKS Auto Mode in build/render/variants/aws-auto
render:
	$(GO) build -o build/bin/render ./cmd/render
	@for stack in $(STACKS); do build/bin/render --stack $$stack --out build/render/$$stack || exit 1; done
	@build/bin/render --stack aws --set edw:karpenterMode=auto --out build/render/variants/aws-auto

test-lab:
	cd lab && $(GO) test -count=1 ./...
	cd engine/standin && $(GO) test -count=1 ./...

test-apps:
	cd scripts/tools && $(GO) test -count=1 ./sqs-emulator
	scripts/with-emulators.sh $(GO) test -count=1 ./...

## bench: consumer throughput and API requests per message, both clouds
bench:
	scripts/with-emulators.sh $(GO) test -count=1 -run '^$$' -bench Consume -benchtime $(BENCH_MESSAGES)x ./e2e

## lab: the stack's autoscaling loop on this machine, deployed and, under
## load, destroyed through the real Pulumi engine; results in
## build/lab/$(STACK), given back to the user who ran make. The run (not the
## build) needs root, for a network namespace and CPU cgroups: make asks sudo
## for it first (lab-sudo), before a build that can take half an hour.
LAB_BIN := build/lab/bin
AS_ROOT := $(if $(filter 0,$(shell id -u)),,sudo env "PATH=$(PATH)")
# OWN gives a run's outputs, which root wrote, back to the user running make.
OWN = $(if $(AS_ROOT),sudo chown -R $$(id -u):$$(id -g) $(1),true)
KEDA_DIR = $$(cd conformance/keda && $(GO) list -m -f '{{.Dir}}' github.com/kedacore/keda/v2)
KARPENTER_DIR = $$(cd lab/tools/karpenter && $(GO) list -m -f '{{.Dir}}' sigs.k8s.io/karpenter)
# kwok runs the Stages it is given (0.8 has none built in): those kwokctl
# gives it with node leases, from its module.
KWOK_DIR = $$(cd lab/tools/kwok && $(GO) list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
# The node classes the stacks create are checked by their own CRDs, at the
# versions the program pins.
NODECLASS_VERSION = $$(sed -n 's/^const Karpenter = "\(.*\)"/\1/p' versions/versions.go)
NAP_VERSION = $$(sed -n 's/^const KarpenterAzure = "\(.*\)"/\1/p' versions/versions.go)
MODULE_DIR = $$($(GO) mod download -json $(1) | sed -n 's/^\t"Dir": "\(.*\)",$$/\1/p')
LAB_CRDS = -keda-crds "$(KEDA_DIR)/config/crd/bases/*.yaml" \
	-karpenter-crds "$(KARPENTER_DIR)/kwok/charts/crds/*.yaml,$(KARPENTER_DIR)/kwok/apis/crds/*.yaml,$(call MODULE_DIR,github.com/aws/karpenter-provider-aws@v$(NODECLASS_VERSION))/pkg/apis/crds/karpenter.k8s.aws_ec2nodeclasses.yaml,$(call MODULE_DIR,github.com/Azure/karpenter-provider-azure@v$(NAP_VERSION))/pkg/apis/crds/karpenter.azure.com_aksnodeclasses.yaml" \
	-kwok-stages "$(KWOK_DIR)/kustomize/stage/node/fast/node-initialize.yaml,$(KWOK_DIR)/kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml,$(KWOK_DIR)/kustomize/stage/pod/fast/pod-*.yaml"
lab: lab-sudo lab-build render engine-build
	build/bin/render --stack $(STACK) --out build/lab-render/$(STACK) $(LAB_SETTINGS)
	$(AS_ROOT) $(LAB_BIN)/lab -stack $(STACK) -bin $(LAB_BIN) -messages $(LAB_MESSAGES) -rate $(LAB_RATE) $(LAB_CRDS) -render build/lab-render/$(STACK) \
		-out $(LAB_OUT) -deploy "$(CURDIR)/$(ENGINE_BIN)/edw-engine -stack $(STACK) -bin $(CURDIR)/$(ENGINE_BIN) -dir $(CURDIR)/$(LAB_OUT)/engine $(LAB_SETTINGS)" $(LAB_FLAGS); \
		status=$$?; $(call OWN,$(LAB_OUT)); exit $$status

## lab-sudo: root, or sudo asked now, before any build. A background loop
## then keeps sudo's ticket fresh while this make runs (sudo forgets it
## after 15 minutes by default), so an unattended first run does not stop
## at a prompt after the build.
lab-sudo:
	@if [ "$$(id -u)" != 0 ]; then \
		sudo -n true 2>/dev/null || echo "make: the lab's run needs root (a network namespace, CPU cgroups): sudo asks once, now"; \
		sudo -v || exit 1; \
		(while kill -0 $$PPID 2>/dev/null; do sudo -n -v 2>/dev/null || exit 0; sleep 60; done) >/dev/null 2>&1 & \
	fi

## lab-compare: the same burst under the reference samples' settings and
## under the stack's own, LAB_REPEAT times each, interleaved; compare prices
## every run over one horizon and fails unless the stack's settings drain no
## slower and cost 30 % less, their costliest run against the samples'
## cheapest. Runs are not held to -check: the samples' settings need not
## scale both levels; compare refuses a run that lost anything.
SAMPLES_aws := edw:kedaQueueLength=2 edw:kedaPollingIntervalSeconds=30 edw:kedaCooldownPeriodSeconds=10 edw:kedaMinReplicas=1 edw:kedaScaleDownWindowSeconds=300
SAMPLES_azure := edw:kedaQueueLength=5 edw:kedaActivationQueueLength=20 edw:kedaPollingIntervalSeconds=30 edw:kedaCooldownPeriodSeconds=10 edw:kedaMaxReplicas=15 edw:kedaScaleDownWindowSeconds=300
LAB_REPEAT ?= 3
COMPARE_OUT = build/compare/$(STACK)
lab-compare: lab-sudo
	@rm -rf $(COMPARE_OUT) && mkdir -p $(COMPARE_OUT)
	@for i in $$(seq $(LAB_REPEAT)); do \
		$(MAKE) --no-print-directory lab STACK=$(STACK) LAB_SET="$(SAMPLES_$(STACK))" && cp build/lab/$(STACK)/summary.json $(COMPARE_OUT)/samples-$$i.json || exit 1; \
		$(MAKE) --no-print-directory lab STACK=$(STACK) && cp build/lab/$(STACK)/summary.json $(COMPARE_OUT)/defaults-$$i.json || exit 1; \
	done
	$(LAB_BIN)/compare -min-runs $(LAB_REPEAT) samples='$(COMPARE_OUT)/samples-*.json' defaults='$(COMPARE_OUT)/defaults-*.json' > $(COMPARE_OUT)/table.md; \
		status=$$?; cat $(COMPARE_OUT)/table.md; exit $$status

## lab-scale: not in CI. The AWS stack driven to 500 consumer pods on 50+
## Karpenter nodes, each pod a consumer process: the queue is held at
## 2,000 messages for 8 minutes, then drains; fails unless the goal is
## reached and nothing is lost. queueLength 1 makes 500 pods' worth of
## backlog one the SQS emulator serves (it slows with every message held);
## pods ask for 1 vCPU, so that 500 of them need 50+ of the lab's 8-vCPU
## nodes. Results in build/lab/scale.
SCALE_SET := edw:kedaMaxReplicas=500 edw:kedaQueueLength=1 edw:consumerCpu=1 edw:karpenterCpuLimit=640
SCALE_HOLD := 2000
lab-scale: lab-sudo
	$(MAKE) --no-print-directory lab STACK=aws LAB_MESSAGES=$(SCALE_HOLD) LAB_RATE=10000 LAB_SET="$(SCALE_SET)" \
		LAB_FLAGS="-check -goal-pods 500 -goal-nodes 50 -hold $(SCALE_HOLD) -hold-for 8m -settle 20m" LAB_OUT=build/lab/scale

## lab-check: each stack's burst; fails unless both levels scaled out and
## back in, nothing was lost or duplicated, and no message waited longer
## than the drain objective. The default burst is less than one consumer's target,
## so the check assumes a consumer CHECK_PER_POD times slower than the
## stack does: its derived target then asks for CHECK_PODS consumers,
## which the HPA must reach.
CHECK_PER_POD_aws := 100
CHECK_PODS_aws := 3
CHECK_PER_POD_azure := 20
CHECK_PODS_azure := 2
lab-check: lab-sudo $(foreach s,$(STACKS),lab-check-$(s))
lab-check-%: lab-sudo
	$(MAKE) --no-print-directory lab STACK=$* LAB_SET="edw:consumerMessagesPerSecond=$(CHECK_PER_POD_$*)" \
		LAB_FLAGS="-check -settle 5m -goal-pods $(CHECK_PODS_$*)"

## lab-poison: not in CI. The stack's burst, then 5 messages no consumer
## can decode: fails unless the stack's set-aside alert fires in the lab's
## Prometheus and exactly those 5 are set aside. On AWS they reach the
## dead-letter queue only after the consumer's maximum deliveries times its
## visibility timeout (5 x 60 s), hence the settle. Results in
## build/lab/poison-$(STACK).
lab-poison: lab-sudo
	$(MAKE) --no-print-directory lab STACK=$(STACK) LAB_OUT=build/lab/poison-$(STACK) LAB_FLAGS="-check -poison 5 -settle 8m"

## lab-build: the control plane, KEDA, Karpenter, kwok, the apps,
## Prometheus and the lab
lab-build:
	@mkdir -p $(LAB_BIN)
	cd lab/tools/kube && $(GO) build -ldflags "-X k8s.io/component-base/version.gitVersion=$$($(GO) list -m -f '{{.Version}}' k8s.io/kubernetes)" \
		-o ../../../$(LAB_BIN)/ k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler
	cd lab/tools/kube && $(GO) build -o ../../../$(LAB_BIN)/etcd go.etcd.io/etcd/server/v3
	cd lab/tools/karpenter && $(GO) build -o ../../../$(LAB_BIN)/karpenter sigs.k8s.io/karpenter/kwok
	cd lab/tools/kwok && $(GO) build -o ../../../$(LAB_BIN)/kwok sigs.k8s.io/kwok/cmd/kwok
	cd conformance/keda && $(GO) build -o ../../$(LAB_BIN)/keda-operator github.com/kedacore/keda/v2/cmd/operator
	cd conformance/keda && $(GO) build -o ../../$(LAB_BIN)/keda-adapter github.com/kedacore/keda/v2/cmd/adapter
	cd apps && $(GO) build -o ../$(LAB_BIN)/ ./consumer ./producer
	cd scripts/tools/prometheus && $(GO) build -o ../../../$(LAB_BIN)/ github.com/prometheus/prometheus/cmd/prometheus
	cd lab && $(GO) build -o ../$(LAB_BIN)/ ./cmd/lab ./cmd/compare
	scripts/emulators.sh install

emulators-start:
	scripts/emulators.sh start

emulators-stop:
	scripts/emulators.sh stop

## engine-build: the Pulumi CLI, the Kubernetes provider, the stand-in
## plugins for the clouds, the stand-in Go language host (beside the CLI,
## where the CLI looks for its bundled language hosts when PATH has none)
## and the engine layer's test binary
ENGINE_BIN := build/engine/bin
engine-build:
	@mkdir -p $(ENGINE_BIN)
	cd engine/tools/pulumi && $(GO) build -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$$($(GO) list -m -f '{{.Version}}' github.com/pulumi/pulumi/pkg/v3)" \
		-o ../../../$(ENGINE_BIN)/pulumi github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
	engine/tools/kubernetes/build.sh $(ENGINE_BIN)
	cd engine/standin && $(GO) build -o ../../$(ENGINE_BIN)/ ./cmd/pulumi-resource-standin
	$(GO) build -o $(ENGINE_BIN)/ ./engine/cmd/edw-engine ./engine/cmd/pulumi-language-go
	$(GO) test -c -tags engine -o $(ENGINE_BIN)/engine.test ./engine

## test-mutations: each defect in mutations/ applied to a scratch copy,
## the test layers run until one fails; which one caught each, in
## build/mutations/report.md (about an hour: not part of make test)
test-mutations: lab-sudo tools
	scripts/mutations.sh $(MUTATIONS)

## test-engine: both stacks through the real Pulumi engine and Kubernetes
## provider, against the lab's apiserver with its KEDA and Karpenter:
## preview, up, a second preview, an update, destroy
test-engine: lab-sudo lab-build render engine-build
	$(AS_ROOT) $(LAB_BIN)/lab -stack aws -bin $(LAB_BIN) -out build/engine/lab $(LAB_CRDS) \
		-exec "$(CURDIR)/$(ENGINE_BIN)/engine.test -test.v -test.count=1 -test.timeout 40m"; \
		status=$$?; $(call OWN,build/engine/lab); exit $$status

## clean: everything the build, the tests and the lab wrote: build/ (the
## binaries, renders, lab and engine runs, their Pulumi state, the
## emulators' state) and the emulators' npm packages. With sudo only when
## root owns some of it (a lab run interrupted before it gave its outputs
## back). The Go module and build caches are Go's: `go clean -cache
## -modcache` empties them.
CLEAN := build scripts/emulators/node_modules
clean:
	@if [ "$$(id -u)" != 0 ] && [ -n "$$(find $(CLEAN) ! -user "$$(id -u)" -print -quit 2>/dev/null)" ]; then \
		echo "make: root owns files under $(CLEAN): removing them with sudo"; \
		sudo rm -rf $(CLEAN); \
	else \
		chmod -R u+w $(CLEAN) 2>/dev/null; rm -rf $(CLEAN); \
	fi
