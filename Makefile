# nsbox: the entry points the README opens with.
#   make demo  - install what is missing, build, run a real container
#   make test  - install what is missing, build, run every test (ctest)
#   make bench - install what is missing, build, run the benchmark (bench/)
#   make test-v2 - the cgroup v2 tests in a pure cgroup v2 QEMU guest (tools/v2rig)
BUILD ?= build
JOBS ?= $(shell nproc)
DEB_PACKAGES := build-essential cmake nlohmann-json3-dev libgtest-dev busybox-static \
	util-linux iproute2 procps runc crun python3 gnuplot-nox
# Benchmark options, e.g. make bench BENCH_ARGS="--runs 20 --concurrency 1,8"
BENCH_ARGS ?=
# The pure cgroup v2 guest (tools/v2rig/v2rig.sh; V2RIG_ACCEL, V2RIG_TIMEOUT...).
V2RIG_PACKAGES := qemu-system-x86 cpio xz-utils zstd binutils dash

.PHONY: all deps deps-v2 build demo test bench test-v2 test-v2-all bench-v2 clean

all: build

deps deps-v2: PACKAGES = $(DEB_PACKAGES)
deps-v2: PACKAGES += $(V2RIG_PACKAGES)
deps deps-v2:
	@missing=""; for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

CONFIGURE = cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: deps
	$(CONFIGURE)
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	./tools/demo.sh $(BUILD)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 300

# Builds only what the benchmark runs: nsbox, the bundle and bench/'s tools.
bench: deps
	$(CONFIGURE)
	cmake --build $(BUILD) -j $(JOBS) --target bench_tools
	/usr/bin/python3 bench/nsbench.py --build-dir $(BUILD) $(BENCH_ARGS)

test-v2: build deps-v2
	./tools/v2rig/v2rig.sh test $(BUILD)

test-v2-all: build deps-v2
	./tools/v2rig/v2rig.sh test-all $(BUILD)

bench-v2: build deps-v2
	./tools/v2rig/v2rig.sh bench $(BUILD)

clean:
	rm -rf $(BUILD)
