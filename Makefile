# localjobs — run Kubernetes Pods and Jobs as Docker containers, without a cluster.
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GO      ?= go
BIN     := ./localjobs
# The examples run in a state dir of their own inside the checkout, so trying
# them never schedules anything in your real state.
DEMO_STATE := .localjobs-demo

.DEFAULT_GOAL := help

.PHONY: help build deps test test-ui vet fmt check up examples clean bench image chaos

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

build: ## build ./localjobs
	@[ -x $(BIN) ] || echo "building $(BIN): the first build compiles every dependency and takes a minute or two"
	$(GO) build -ldflags "-X github.com/localjobs/localjobs/cli.Version=$(VERSION)" -o $(BIN) .

test: ## run every test, Docker ones included (starts/installs Docker and busybox-static if needed)
	sh scripts/ensure-docker.sh
	GO=$(GO) sh scripts/test.sh

deps: ## download every module the build and the tests need (once, online; then make check works offline)
	$(GO) mod download

test-ui: ## the dashboard in headless Chromium against real containers; screenshots in testdata/ui (installs Debian's chromium if missing)
	sh scripts/ensure-docker.sh
	browser=$$(sh scripts/ensure-chromium.sh) && \
	CHROMIUM="$$browser" LOCALJOBS_UI_BROWSER=1 LOCALJOBS_REQUIRE_DOCKER=1 $(GO) test -count=1 -timeout 5m -run TestDashboardBrowser -v ./ui/

vet: ## go vet
	@$(GO) vet ./... || { echo "go vet failed; if it could not download a module, run 'make deps' once while online (see README, Development)"; exit 1; }

fmt: ## fail if gofmt would change anything
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

check: fmt vet test test-ui ## what CI runs

up: build ## run the daemon on the bundled examples in ./$(DEMO_STATE): localjobs up specs/ (Ctrl-C stops it)
	sh scripts/ensure-docker.sh
	sh scripts/ensure-images.sh $$(sed -n 's/^ *image: *"\{0,1\}\([^" ]*\)"\{0,1\}.*/\1/p' specs/*.yaml | sort -u)
	$(BIN) --state-dir $(DEMO_STATE) up specs/

examples: build ## run each example once with localjobs run -f and check its documented outcome
	sh scripts/ensure-docker.sh
	sh scripts/ensure-images.sh $$(sed -n 's/^ *image: *"\{0,1\}\([^" ]*\)"\{0,1\}.*/\1/p' specs/*.yaml | sort -u)
	LOCALJOBS_STATE_DIR=$(DEMO_STATE) sh scripts/run-examples.sh $(BIN) specs

image: ## a FROM scratch image of localjobs (static binary; built offline from local files)
	rm -rf .image && mkdir .image
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X github.com/localjobs/localjobs/cli.Version=$(VERSION)" -o .image/localjobs .
	cp contrib/docker/Dockerfile .image/
	docker build -t localjobs:$(VERSION) -t localjobs:latest .image
	rm -rf .image

clean: ## remove build output and the examples' state (stop make up first)
	rm -f $(BIN)
	rm -rf $(DEMO_STATE)

bench: ## measure localjobs next to its anchors (docker run, the raw engine API) and print the table; not part of CI
	sh scripts/ensure-docker.sh
	$(GO) run ./bench

chaos: build ## kill -9, engine restarts, full disk, damaged db… against real engines (a private dockerd included); prints one table; ~11 min, root, not part of CI
	sh scripts/ensure-docker.sh
	$(GO) run ./bench/chaos -bin $(BIN) $(CHAOSFLAGS)
