# SPDX-License-Identifier: BSD-3-Clause
# Thin wrapper over Meson/Ninja. `make check` builds and runs every test
# (KVM tests natively, or in the emulated host without /dev/kvm);
# `make bench` builds and runs the doorbell benchmark; `make fuzz` runs the
# libFuzzer targets for a short while. All install missing Debian build
# dependencies first (apt-get, as root or via sudo).
BUILD ?= build
MESON_OPTS ?=
PREFIX ?= /usr/local

FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 20

.PHONY: all deps setup check check-emulated check-kernel kernel bench bench-kernel fuzz install \
	clean

all: setup
	ninja -C $(BUILD)

deps:
	@sh scripts/install-deps.sh

setup: deps
	@test -f $(BUILD)/build.ninja || meson setup $(BUILD) --prefix=$(PREFIX) $(MESON_OPTS)

check: all
	@sh scripts/run-tests.sh $(BUILD)

# The KVM tests in the emulated host on every kernel of the matrix, even
# where /dev/kvm works (docs/TESTING.md).
check-emulated: all
	@IOFD_KVM=emulated sh scripts/run-tests.sh $(BUILD)

# The kernel series in kernel/: patched KVM modules and selftests of the
# pinned 6.12 source (scripts/kernel-build.sh), and their check in the
# emulated host, stock against patched (scripts/check-kernel.sh).
kernel: deps
	@sh scripts/kernel-build.sh modules
	@sh scripts/kernel-build.sh selftests

check-kernel: deps
	@sh scripts/check-kernel.sh

bench: all
	@sh scripts/bench.sh $(BUILD) $(BENCH_ARGS)

# The guest rows on the kernel series (emulated host, patched 6.12).
bench-kernel: all
	@IOFD_BENCH_KERNEL=patched-6.12 sh scripts/bench.sh $(BUILD) $(BENCH_ARGS)

# libFuzzer targets (clang, ASan+UBSan), FUZZ_SECONDS each; see fuzz/README.md.
fuzz: deps
	@test -f $(FUZZ_BUILD)/build.ninja || CC=clang CFLAGS=-fsanitize=fuzzer-no-link \
		meson setup $(FUZZ_BUILD) -Dfuzz=true -Dtests=false -Dtools=false \
		-Db_sanitize=address,undefined -Db_lundef=false
	ninja -C $(FUZZ_BUILD)
	@sh scripts/run-fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

install: all
	meson install -C $(BUILD)

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD)
