# Every target loops over all modules of the workspace (go.work), after
# opentelemetry-go's multi-module Makefile: `go test ./...` at the root, which is
# not a module, would match nothing.
SHELL := /bin/bash
GO    ?= go
ALL_GO_MOD_DIRS := $(shell find . -name go.mod -not -path './bin/*' -exec dirname {} \; | sort)
ALL_PKGS         = $(foreach d,$(ALL_GO_MOD_DIRS),$(d)/...)

# Pinned tools, installed through the Go toolchain into ./bin/tools.
STATICCHECK_VERSION := v0.8.2
HELM_VERSION := v3.17.3
# promtool's Go module is github.com/prometheus/prometheus, versioned v0.3xx
# for Prometheus 3.x. remove_all_sd leaves out the service discovery plugins
# (cloud SDKs, Kubernetes' client), which testing rules has no use for and
# which made the build several times longer.
PROMTOOL_VERSION := v0.316.0
TOOLS := $(CURDIR)/bin/tools

# Benchmark flags; e.g. make bench BENCHFLAGS='-count 6' for benchstat.
BENCHFLAGS ?= -count 3

.PHONY: all build run test test-short test-alerts bench bench-scale vet fmt lint check-tree helm-lint tidy clean system-deps

all: vet test build

## build: every command into bin/ (one binary per cmd/<name> directory)
build:
	@mkdir -p bin
	@for d in $(ALL_GO_MOD_DIRS); do \
		if [ -d $$d/cmd ]; then (cd $$d && $(GO) build -trimpath -o $(CURDIR)/bin/ ./cmd/...) || exit 1; fi; \
	done

## run: build and run the whole system in one process on embedded defaults
## (NATS JetStream embedded, data under ./data; see bin/efaktura up -h)
run: system-deps build
	bin/efaktura up

## test: every test of every module, with the race detector, and the alerts' unit tests
test: system-deps $(TOOLS)/helm test-alerts
	EFAKTURA_HELM=$(TOOLS)/helm $(GO) test -race -count=1 $(ALL_PKGS)

## test-alerts: promtool checks deploy/prometheus/alerts.yaml and runs its unit tests
## (deploy/prometheus/alerts_test.yaml)
test-alerts: $(TOOLS)/promtool
	$(TOOLS)/promtool check rules deploy/prometheus/alerts.yaml
	$(TOOLS)/promtool test rules deploy/prometheus/alerts_test.yaml

## bench: benchmarks of every module; figures go into docs/performance.md.
## The comparison with xmllint needs libxml2-utils, which system-deps installs.
bench: system-deps
	$(GO) test -run '^$$' -bench . -benchmem $(BENCHFLAGS) $(ALL_PKGS)

## bench-scale: BenchmarkScale, SCALE documents (default 100000) through the all-in-one,
## measured at 10k, 50k and 100k: throughput, CPU, memory, disk, latencies and restart
## time (docs/performance.md, "Issue 10: scale"); 5-7 minutes on 2 cores at 100k.
## SCALE=20000 for a quicker try. make bench does not run it: -bench . matches every
## name, and go test has no pattern to leave one out, so BenchmarkScale skips itself
## unless -scale is given; a name outside the Benchmark prefix would not run at all.
SCALE ?= 100000
bench-scale:
	$(GO) test -run '^$$' -bench '^BenchmarkScale$$' -benchtime 1x -count 1 -timeout 3h ./services/efaktura/cmd/efaktura -args -scale $(SCALE)

vet:
	$(GO) vet $(ALL_PKGS)

fmt:
	gofmt -w $(ALL_GO_MOD_DIRS)

lint: $(TOOLS)/staticcheck vet check-tree
	$(TOOLS)/staticcheck $(ALL_PKGS)

## system-deps: the Debian packages the Go toolchain cannot install, with
## apt-get when missing: redis-server, chromium for the desk's browser test, nodejs and
## npm for the AsyncAPI parser test, and libxml2-utils (xmllint) for make bench
system-deps:
	.ci/system-deps

## check-tree: git tracks no binary (an executable that is not a #! script) and
## no file over 1 MiB outside testdata/
check-tree:
	.ci/check-tree

$(TOOLS)/staticcheck:
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

## helm-lint: helm lint and helm template of helm/efaktura with default and production-like values
## (TestHelmChart in make test checks the rendered manifests once helm is in bin/tools)
helm-lint: $(TOOLS)/helm
	$(TOOLS)/helm lint helm/efaktura
	$(TOOLS)/helm lint helm/efaktura -f helm/efaktura/ci/production-values.yaml
	$(TOOLS)/helm template efaktura helm/efaktura >/dev/null
	$(TOOLS)/helm template efaktura helm/efaktura -f helm/efaktura/ci/production-values.yaml >/dev/null

$(TOOLS)/helm:
	GOBIN=$(TOOLS) $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

$(TOOLS)/promtool:
	GOBIN=$(TOOLS) $(GO) install -tags remove_all_sd github.com/prometheus/prometheus/cmd/promtool@$(PROMTOOL_VERSION)

tidy:
	@for d in $(ALL_GO_MOD_DIRS); do (cd $$d && $(GO) mod tidy) || exit 1; done

clean:
	rm -rf bin
