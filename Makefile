# Thin wrapper over CMake: `make`, `make demo`, `make test`, `make install`.
BUILD ?= build
ASAN_BUILD ?= $(BUILD)-asan
PREFIX ?= /usr/local
CMAKE ?= cmake
CMAKE_FLAGS ?=

.PHONY: all deps demo test test-asan test-tsan test-aarch64 install clean bench \
	bench-deps bench-check bench-echo bench-redis bench-threads bench-plot docs

all: $(BUILD)/CMakeCache.txt
	$(CMAKE) --build $(BUILD) -j2

$(BUILD)/CMakeCache.txt:
	$(CMAKE) -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_FLAGS)

# The main example: the tutorial's producer/consumer over maxsize=10.
demo: all
	$(abspath $(BUILD))/examples/producer_consumer

# Packages some tests need (libuv for test_embed_uv), installed with
# apt-get when missing: tests/deps.sh.
deps:
	sh tests/deps.sh

test: deps all
	cd $(BUILD) && ctest --output-on-failure -j2

# The same tests under AddressSanitizer and UndefinedBehaviorSanitizer.
test-asan:
	$(MAKE) test BUILD=$(ASAN_BUILD) CMAKE_FLAGS="-DAQ_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS)"

# The tests under ThreadSanitizer: every test that TSan can run. Left out:
# test_overflow (its children die of SIGSEGV on purpose, which TSan's own
# signal handling turns into a different death), test_soak_small (its RSS
# bound does not hold with TSan's shadow memory) and test_model (TSan's
# per-thread history does not fit the million short task lives of 10,000
# programs on one thread: it aborts).
TSAN_BUILD ?= $(BUILD)-tsan
test-tsan:
	$(MAKE) all BUILD=$(TSAN_BUILD) CMAKE_FLAGS="-DAQ_TSAN=ON -DCMAKE_BUILD_TYPE=Debug -DAQ_BUILD_EXAMPLES=OFF"
	cd $(TSAN_BUILD) && ctest --output-on-failure -j2 \
	    -E '^(test_overflow|test_soak_small|test_model)$$'

# The tests on AArch64: a cross build run under qemu-user (installs both
# from Debian's archive if missing).
test-aarch64:
	sh tests/aarch64.sh $(BUILD)-aarch64

# The reference manual: HTML and man pages from the public headers'
# comments, by Doxygen (docs/manual/; installed with apt-get if missing),
# into $(BUILD)/docs. Fails, naming them, if a public function has no
# documentation.
docs:
	sh docs/manual/build.sh $(BUILD)/docs

# Reconfigures first, so that libaq.pc names the PREFIX given now.
install:
	$(CMAKE) -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_FLAGS)
	$(CMAKE) --build $(BUILD) -j2
	$(CMAKE) --install $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(BUILD)-aarch64

# Benchmarks beside their floor (bench/floor.c) and the Go, async-channel,
# tokio and asyncio peers (bench/README.md): a table to paste into
# bench/RESULTS.md. BENCH_QUICK=1 for a fast, indicative pass.
bench: bench-deps
	BUILD=$(BUILD) python3 bench/run.py bench

# The compiled peers' packages (Go, x/sync, Rust's tokio and async-channel
# crates; cargo if there is none), installed with apt-get when missing by
# bench/peers/deps.sh. Its failure does not stop the bench: a peer that
# cannot be built is skipped, and said so.
bench-deps:
	-sh bench/peers/deps.sh

# make bench, then its table drawn by gnuplot (bench/plot.py; Debian's
# gnuplot-nox, installed with apt-get if missing) into $(BUILD)/bench.png.
# docs/bench.png, which the README shows, is such a chart.
bench-plot: bench-deps
	BUILD=$(BUILD) python3 bench/run.py bench | tee $(BUILD)/bench.md
	python3 bench/plot.py $(BUILD)/bench.md $(BUILD)/bench.png

# Shared queues and aq_cores against Go (GOMAXPROCS=2), a pthread
# condvar, crossbeam-channel and janus, in one run (bench/threads.py);
# installs Go (bench-deps), the Rust crate and janus with apt-get if
# missing. About 2 min.
bench-threads: bench-deps
	BUILD=$(BUILD) python3 bench/threads.py

# libaq-redis against redis-benchmark XADD and a python3-redis consumer,
# on one redis-server the run starts (bench/redis/run.py): put+get end
# to end, draining a pre-filled stream, pipelined puts. Runs `make`
# first; installs python3-redis with apt-get if missing. About 1 min.
bench-redis:
	BUILD=$(BUILD) python3 bench/redis/run.py

# Instructions per item under callgrind, against bench/budgets.txt.
bench-check:
	BUILD=$(BUILD) python3 bench/run.py check

# Echo over loopback (bench/echo/): libaq against epoll, libuv, Go, asyncio
# and uvloop; strace counts, memory per idle connection, I/O deadlines.
# About 5 minutes; installs libuv1-dev, golang-go, python3-uvloop and
# strace with apt-get when missing. ECHO_WHAT: all, load, strace, idle or
# deadlines.
ECHO_WHAT ?= all
bench-echo:
	sh bench/peers/apt-install.sh libuv1-dev golang-go python3-uvloop strace
	BUILD=$(BUILD) python3 bench/echo/run.py $(ECHO_WHAT)

# Model-based testing (tests/model/). `make soak`: millions of random
# programs checked against the reference model, in an optimized build.
# `make fuzz`: libFuzzer over the same checker, new inputs saved into
# tests/fuzz/corpus/ (which `make test` replays); `make fuzz-min` merges
# that corpus back down to inputs of distinct coverage.
SOAK_BUILD ?= build-soak
SOAK_SEEDS ?= 2000000
SOAK_START ?= 1
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_CORPUS ?= tests/fuzz/corpus

.PHONY: soak fuzz fuzz-build fuzz-min

soak:
	$(CMAKE) -S . -B $(SOAK_BUILD) -DCMAKE_BUILD_TYPE=Release \
	    -DAQ_BUILD_EXAMPLES=OFF
	$(CMAKE) --build $(SOAK_BUILD) --target test_model -j2
	$(abspath $(SOAK_BUILD))/tests/test_model --seeds $(SOAK_SEEDS) \
	    --start $(SOAK_START) -v

fuzz-build:
	sh tests/fuzz/setup.sh
	$(CMAKE) -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang \
	    -DCMAKE_BUILD_TYPE=Debug -DAQ_SANITIZE=ON -DAQ_BUILD_TESTS=OFF \
	    -DAQ_BUILD_EXAMPLES=OFF -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link
	$(CMAKE) --build $(FUZZ_BUILD) --target aq -j2
	clang -std=c11 -g -O1 -Wall -Wextra -D_DEFAULT_SOURCE \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -Iinclude tests/fuzz/fuzz_model.c $(FUZZ_BUILD)/libaq.a \
	    -o $(FUZZ_BUILD)/fuzz_model

fuzz: fuzz-build
	mkdir -p $(FUZZ_CORPUS)
	$(abspath $(FUZZ_BUILD))/fuzz_model -max_total_time=$(FUZZ_SECONDS) \
	    -max_len=900 -timeout=30 -artifact_prefix=$(FUZZ_BUILD)/ \
	    $(FUZZ_CORPUS)

fuzz-min: fuzz-build
	rm -rf $(FUZZ_BUILD)/min
	mkdir -p $(FUZZ_BUILD)/min
	$(abspath $(FUZZ_BUILD))/fuzz_model -merge=1 $(FUZZ_BUILD)/min $(FUZZ_CORPUS)
	rm -f $(FUZZ_CORPUS)/*
	cp $(FUZZ_BUILD)/min/* $(FUZZ_CORPUS)/

# Scale soak (tests/soak/): 1,000,000 tasks move 10,000,000 items through
# 1000 bounded queues under random cancellations, every item accounted
# for, 3 rounds with RSS checked for growth. Takes minutes; not part of
# `make test` (test_soak_small is its small twin there).
# SOAK_SCALE_ARGS: [tasks] [items] [rounds] [seed].
SOAK_SCALE_ARGS ?=

.PHONY: soak-scale

soak-scale: all
	cc -O2 -Iinclude tests/soak/soak.c $(BUILD)/libaq.a -o $(BUILD)/soak
	$(abspath $(BUILD))/soak $(SOAK_SCALE_ARGS)

# Thread soak (tests/soak/threads.sh): test_thread_stress, shared queues
# hammered by plain threads and the tasks of two loops with random
# deadlines and cancels, round after round with fresh seeds for
# SOAK_THREADS_SECONDS (10 minutes), in the optimized $(BUILD) tree; each
# round prints its seed and figures, the first failure stops it (its
# message names the seed: STRESS_SEED=<seed> replays the choices).
# SOAK_THREADS_OPS: producer operations a round (empty: the test's
# default, about 3 s).
SOAK_THREADS_SECONDS ?= 600
SOAK_THREADS_OPS ?=

.PHONY: soak-threads

soak-threads: $(BUILD)/CMakeCache.txt
	$(CMAKE) --build $(BUILD) --target test_thread_stress -j2
	sh tests/soak/threads.sh $(BUILD)/tests/test_thread_stress \
	    $(SOAK_THREADS_SECONDS) $(SOAK_THREADS_OPS)
