# Hypercore: the two commands of the quick start, and the longer runs kept apart.
BUILD_DIR ?= build
JOBS ?= 2
BUILD_TYPE ?= Release
DATA_DIR ?= ./data
ASAN_BUILD_DIR ?= build-asan
FUZZ_SECONDS ?= 60

.PHONY: deps build run rag test bench clean fuzz test-asan

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

# Every libFuzzer target for FUZZ_SECONDS (clang, in build-fuzz); installs
# clang and libFuzzer first. `make test` runs them for a few seconds.
fuzz:
	@bash scripts/install-deps.sh --fuzz
	@FUZZ_SECONDS=$(FUZZ_SECONDS) JOBS=$(JOBS) bash scripts/fuzz.sh

# The whole suite under ASan and UBSan (g++, in $(ASAN_BUILD_DIR)), stopping
# at the first report; the fuzz smoke is left out (its targets already run
# under both sanitizers). Debug (-O0): with UBSan, -O1 compiles CAF-heavy
# files 2.5 times slower, which costs more than the tests gain.
test-asan: deps
	@cmake -S . -B $(ASAN_BUILD_DIR) -DCMAKE_BUILD_TYPE=Debug -DHYPERCORE_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD_DIR) -j$(JOBS)
	cd $(ASAN_BUILD_DIR) && bash $(CURDIR)/scripts/sanitizer-env.sh \
	  ctest --output-on-failure --timeout 900 -j1 -LE fuzz

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
