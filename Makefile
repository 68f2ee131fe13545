# Thin wrapper: install missing Debian packages, configure with CMake + Ninja
# into build/, build, then run. See README.md.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps configure build test test-sanitize demo clean fuzz fuzz-difftest

all: build

deps:
	@bash scripts/install-deps.sh

configure: deps
	@if [ ! -f $(BUILD)/build.ninja ]; then \
	  cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS); \
	fi

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The runtime, knetc and the test suites under ASan+UBSan (build-sanitize,
# shared with make fuzz), run; prints the build and test times.
test-sanitize: deps
	@bash scripts/test-sanitize.sh

demo: build
	@$(BUILD)/bin/mnist_mlp

# libFuzzer (ASan+UBSan) on every parser of untrusted input and on knetc,
# FUZZ_SECONDS (default 60) per target; findings go to
# build-sanitize/crashes/.
fuzz: deps
	@bash scripts/fuzz.sh

# Random programs, tape vs compiled, with new seeds until interrupted (or
# FUZZ_MINUTES=n); mismatches go to build-fuzz/mismatches/.
fuzz-difftest: deps
	@bash scripts/fuzz-difftest.sh

clean:
	@rm -rf $(BUILD)
