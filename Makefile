# Hypercore: the two commands of the quick start, and the longer runs kept apart.
BUILD_DIR ?= build
JOBS ?= 2
BUILD_TYPE ?= Release
DATA_DIR ?= ./data

.PHONY: deps build run rag test bench clean

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null
	@cmake --build $(BUILD_DIR) -j$(JOBS)

# The main job: the server on the embedded LMDB store (Ctrl-C stops it).
run: build
	$(BUILD_DIR)/bin/hypercore serve --data-dir $(DATA_DIR)

# The mini_rag example end to end, on its own store.
rag: build
	$(BUILD_DIR)/bin/mini_rag --data-dir $(DATA_DIR)-rag "How does Hypercore keep jobs durable?"

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure --timeout 600 -j1

bench: build
	bash scripts/bench.sh

# The crash loop (tests/soak/): SOAK_KILLS (200) SIGKILLs of `hypercore serve`
# under an HTTP workload, then the checks and the totals; SOAK_ARGS adds
# flags (--seed N, --jobs N, --no-strict-history, --keep).
.PHONY: soak
soak: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null
	@cmake --build $(BUILD_DIR) -j$(JOBS) --target hypercore-soak
	$(BUILD_DIR)/bin/hypercore-soak --bin $(BUILD_DIR)/bin/hypercore --kills $(or $(SOAK_KILLS),200) $(SOAK_ARGS)

clean:
	rm -rf $(BUILD_DIR)
