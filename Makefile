# Front door. `make` builds build/modelexport (+ libmodelexport.so/.a),
# `make test` runs the whole suite through CTest, `make demo` compiles and runs
# a small model the repo generates itself. Debian packages are installed on
# demand (tools/install-deps.sh).
BUILD     ?= build
ASAN_BUILD ?= build-asan
JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all build deps test test-asan demo bench fuzz clean

all: build

build:
	@tools/install-deps.sh build
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

test: build
	@tools/install-deps.sh test
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)

# The same suite built with AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan:
	@tools/install-deps.sh test
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DME_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -j$(JOBS)

demo: build
	@tools/install-deps.sh demo
	@tools/demo.sh $(BUILD)

# Speed against ONNX Runtime and llama.cpp (not part of `make test`): installs the
# npm packages, builds bench/me_bench, generates the models, prints one table.
bench:
	@tools/install-deps.sh test
	/usr/bin/python3 bench/run_bench.py --build $(BUILD)

# libFuzzer (docs/fuzzing.md): builds the targets with clang into $(FUZZ_BUILD),
# generates the seed corpora and fuzzes each reader for FUZZ_SECONDS seconds,
# one after the other. Findings land in $(FUZZ_BUILD)/fuzz-artifacts.
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
fuzz:
	@tools/install-deps.sh test
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DME_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(FUZZ_BUILD) -j$(JOBS) --target fuzz_targets modelexport
	@/usr/bin/python3 tests/fuzz/make_corpus.py --out $(FUZZ_BUILD)/seeds --modelexport $(FUZZ_BUILD)/modelexport
	tests/fuzz/run_fuzz.sh --build $(FUZZ_BUILD) --seeds $(FUZZ_BUILD)/seeds --seconds $(FUZZ_SECONDS) --extra

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
