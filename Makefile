# nsbox: the entry points the README opens with.
#   make demo  - install what is missing, build, run a real container
#   make test  - install what is missing (podman, containerd too), build, run every test (ctest)
#   make bench - install what is missing, build, run the benchmark (bench/)
#   make test-v2 - the cgroup v2 tests in a pure cgroup v2 QEMU guest (tools/v2rig)
#   make fuzz  - libFuzzer on the config.json parser (tests/fuzz), FUZZ_TIME s per fuzzer
BUILD ?= build
JOBS ?= $(shell nproc)
DEB_PACKAGES := build-essential cmake nlohmann-json3-dev libgtest-dev libseccomp-dev busybox-static \
	util-linux iproute2 procps runc crun python3 python3-jsonschema gnuplot-nox
# Benchmark options, e.g. make bench BENCH_ARGS="--runs 20 --concurrency 1,8"
BENCH_ARGS ?=
# The pure cgroup v2 guest (tools/v2rig/v2rig.sh; V2RIG_ACCEL, V2RIG_TIMEOUT...);
# apparmor: apparmor_parser loads the AppArmor.* tests' profile in the guest.
V2RIG_PACKAGES := qemu-system-x86 cpio xz-utils zstd binutils dash apparmor
# libFuzzer on the config parser (tests/fuzz): FUZZ_TIME seconds per fuzzer;
# FUZZ_MERGE=1 merges new inputs into tests/fuzz/corpus; FUZZ_ARGS more flags.
FUZZ_BUILD ?= build-fuzz
FUZZ_TIME ?= 60
FUZZ_MERGE ?= 0
FUZZ_ARGS ?=
FUZZ_PACKAGES := clang libclang-rt-14-dev
# The engine end-to-end tests (tests/engines/run.sh, ctest label engines):
# podman (+ conmon) and containerd (+ ctr, containerd-shim-runc-v2).
ENGINE_PACKAGES := podman containerd

.PHONY: all deps deps-v2 deps-fuzz deps-engines build demo test bench test-v2 test-v2-all bench-v2 fuzz clean

all: build

deps deps-v2 deps-fuzz deps-engines: PACKAGES = $(DEB_PACKAGES)
deps-v2: PACKAGES += $(V2RIG_PACKAGES)
deps-fuzz: PACKAGES += $(FUZZ_PACKAGES)
deps-engines: PACKAGES += $(ENGINE_PACKAGES)
deps deps-v2 deps-fuzz deps-engines:
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

test: build deps-engines
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

# A separate clang build (build-fuzz) of src/spec + src/common with libFuzzer,
# ASan and UBSan; see README.md "Fuzzing".
fuzz: deps-fuzz
	cmake -S tests/fuzz -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target all $(if $(filter 1,$(FUZZ_MERGE)),merge_tools)
	FUZZ_TIME=$(FUZZ_TIME) FUZZ_MERGE=$(FUZZ_MERGE) FUZZ_ARGS="$(FUZZ_ARGS)" \
	  ./tests/fuzz/run.sh $(FUZZ_BUILD)

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD)
