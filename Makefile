# SPDX-License-Identifier: BSD-3-Clause
# Thin wrapper over Meson/Ninja. `make check` builds and runs every test;
# `make bench` builds and runs the doorbell benchmark. Both install missing
# Debian build dependencies first (apt-get, as root or via sudo).
BUILD ?= build
MESON_OPTS ?=
PREFIX ?= /usr/local

.PHONY: all deps setup check bench install clean

all: setup
	ninja -C $(BUILD)

deps:
	@sh scripts/install-deps.sh

setup: deps
	@test -f $(BUILD)/build.ninja || meson setup $(BUILD) --prefix=$(PREFIX) $(MESON_OPTS)

check: all
	@sh scripts/run-tests.sh $(BUILD)

bench: all
	$(BUILD)/tools/iofd-bench $(BENCH_ARGS)

install: all
	meson install -C $(BUILD)

clean:
	rm -rf $(BUILD)
