# Thin wrapper over CMake: `make`, `make demo`, `make test`, `make install`.
BUILD ?= build
ASAN_BUILD ?= build-asan
PREFIX ?= /usr/local
CMAKE ?= cmake
CMAKE_FLAGS ?=

.PHONY: all demo test test-asan install clean bench bench-check

all: $(BUILD)/CMakeCache.txt
	$(CMAKE) --build $(BUILD) -j2

$(BUILD)/CMakeCache.txt:
	$(CMAKE) -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_FLAGS)

# The main example: the tutorial's producer/consumer over maxsize=10.
demo: all
	./$(BUILD)/examples/producer_consumer

test: all
	cd $(BUILD) && ctest --output-on-failure -j2

# The same tests under AddressSanitizer and UndefinedBehaviorSanitizer.
test-asan:
	$(MAKE) test BUILD=$(ASAN_BUILD) CMAKE_FLAGS="-DAQ_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS)"

# Reconfigures first, so that libaq.pc names the PREFIX given now.
install:
	$(CMAKE) -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_FLAGS)
	$(CMAKE) --build $(BUILD) -j2
	$(CMAKE) --install $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

# Benchmarks against the asyncio and Go peers (bench/README.md): a table to
# paste into bench/RESULTS.md. BENCH_QUICK=1 for a fast, indicative pass.
bench:
	BUILD=$(BUILD) python3 bench/run.py bench

# Instructions per item under callgrind, against bench/budgets.txt.
bench-check:
	BUILD=$(BUILD) python3 bench/run.py check
