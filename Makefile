# CHKV build, test and benchmark entry points. `make help` lists them.

GO       ?= go
BIN      := bin
CMDS     := ./datanode/cmd/datanode ./namenode/cmd/namenode ./client/cmd/chkvctl
PROTOS   := $(wildcard proto/chkvpb/*.proto)
FUZZTIME ?= 30s
SEEDS    ?= 1000
FIRST    ?= 1

IMAGE    ?= chkv:dev

.PHONY: help build image run test sim bench fuzz lint proto verify-proto clean

# help: list the targets and what they do.
help:
	@grep -B1 -E '^[a-z-]+:' Makefile | grep -E '^# ' | sed 's/^# //'

# build: compile static binaries into bin/.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/ $(CMDS)

# image: build, then package bin/ into the container image $(IMAGE) (FROM scratch; nothing is pulled).
image: build
	docker build -t $(IMAGE) .

# run: build, then start a local node on loopback (Ctrl-C stops it).
run: build
	./helper/run-local.sh

# test: every test with the race detector (README's test command), then the
# offline checks of the Kubernetes manifests (a module of their own).
test:
	$(GO) test -race -count=1 ./...
	cd deploy/k8s && $(GO) test -race -count=1 ./...

# sim: run SEEDS (default 1000) seeds of the deterministic simulator of the NameNode pair from FIRST; a failure prints its seed and replay command.
sim:
	$(GO) test -count=1 -timeout 0 -run '^TestSeeds$$' ./helper/sim -seeds $(SEEDS) -first $(FIRST) -v

# bench: DataNode vs redis-server side by side with redis-benchmark, then Go benchmarks.
bench: build
	./helper/bench.sh
	$(GO) test -run '^$$' -bench . -benchmem ./datanode/... ./common/...

# fuzz: run each fuzz target for FUZZTIME (default 30s).
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzReader$$' -fuzztime $(FUZZTIME) ./datanode/resp/
	$(GO) test -run '^$$' -fuzz '^FuzzCommands$$' -fuzztime $(FUZZTIME) ./datanode/

# lint: go vet plus a gofmt check.
lint:
	$(GO) vet ./...
	cd deploy/k8s && $(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# proto: regenerate the committed Go code from proto/chkvpb/*.proto.
proto:
	@if [ -n "$(PROTOS)" ]; then \
		$(GO) build -o $(BIN)/tools/ google.golang.org/protobuf/cmd/protoc-gen-go google.golang.org/grpc/cmd/protoc-gen-go-grpc && \
		PATH="$(CURDIR)/$(BIN)/tools:$$PATH" protoc -I proto --go_out=proto --go_opt=paths=source_relative \
			--go-grpc_out=proto --go-grpc_opt=paths=source_relative $(PROTOS); \
	else echo "no .proto files under proto/chkvpb"; fi

# verify-proto: fail if the generated code differs from what `make proto` makes of the .proto files.
verify-proto:
	@tmp=$$(mktemp -d); cp proto/chkvpb/*.pb.go "$$tmp"/; \
	$(MAKE) -s proto >/dev/null; status=0; \
	for f in proto/chkvpb/*.pb.go; do \
		cmp -s "$$f" "$$tmp/$$(basename $$f)" || { echo "$$f was stale: regenerated, review and commit it"; status=1; }; \
	done; rm -rf "$$tmp"; exit $$status

# clean: remove built binaries.
clean:
	rm -rf $(BIN)
