# The two commands: `make run` and `make test`. See README.md.
SHELL := /bin/bash
JOBS ?= $(shell nproc)
RELEASE_DIR := build/release
DEBUG_DIR := build/debug
LISTEN ?=

.PHONY: all deps web release debug run test bench fuzz clean

all: release

deps:
	@scripts/install-deps.sh

release: deps web
	@cmake -S . -B $(RELEASE_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DMEDSOC_TESTS=OFF >/dev/null
	@cmake --build $(RELEASE_DIR) -j $(JOBS)

# The web portal (web/ -> web/dist), served by `medsoc serve`.
web: deps
	@scripts/web.sh build

# Debug build with AddressSanitizer and UBSan, compiled by clang so that the libFuzzer targets
# build in the same tree.
debug: deps web
	@CC=clang CXX=clang++ cmake -S . -B $(DEBUG_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug \
	  -DMEDSOC_SANITIZE=ON -DMEDSOC_FUZZ=ON >/dev/null
	@cmake --build $(DEBUG_DIR) -j $(JOBS)

run: release
	@scripts/run.sh $(LISTEN)

test: debug
	@scripts/test.sh $(DEBUG_DIR)

bench: deps
	@cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DMEDSOC_TESTS=OFF -DMEDSOC_BENCH=ON >/dev/null
	@cmake --build build/bench -j $(JOBS)
	@scripts/bench.sh build/bench

# Longer fuzzing runs (see docs/fuzzing.md): FUZZ_SECONDS per target.
fuzz: debug
	@scripts/fuzz.sh $(DEBUG_DIR) $${FUZZ_SECONDS:-300}

clean:
	rm -rf build
