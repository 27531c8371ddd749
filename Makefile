# nsbox: the two entry points the README opens with.
#   make demo  - install what is missing, build, run a real container
#   make test  - install what is missing, build, run every test (ctest)
BUILD ?= build
JOBS ?= $(shell nproc)
DEB_PACKAGES := build-essential cmake nlohmann-json3-dev libgtest-dev busybox-static \
	util-linux iproute2 procps

.PHONY: all deps build demo test clean

all: build

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	./tools/demo.sh $(BUILD)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 300

clean:
	rm -rf $(BUILD)
