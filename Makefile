# nsbox: the entry points the README opens with.
#   make demo  - install what is missing, build, run a real container
#   make test  - install what is missing, build, run every test (ctest)
#   make bench - install what is missing, build, run the benchmark (bench/)
BUILD ?= build
JOBS ?= $(shell nproc)
DEB_PACKAGES := build-essential cmake nlohmann-json3-dev libgtest-dev busybox-static \
	util-linux iproute2 procps runc crun python3 gnuplot-nox
# Benchmark options, e.g. make bench BENCH_ARGS="--runs 20 --concurrency 1,8"
BENCH_ARGS ?=

.PHONY: all deps build demo test bench clean

all: build

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
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

clean:
	rm -rf $(BUILD)
