# SPDX-License-Identifier: BSD-3-Clause
# Thin wrapper over Meson/Ninja. `make check` builds and runs every test
# (KVM tests natively, or in the emulated host without /dev/kvm);
# `make bench` builds and runs the benchmark (the doorbell table, its
# kernel rows, and fio in a real Linux guest); `make fuzz` runs the
# libFuzzer targets for a short while; `make install` builds and installs
# the libraries alone (in their own build directory, without tests or
# tools). Each first installs the Debian packages it needs and no more
# (scripts/install-deps.sh and its profiles; apt-get, as root or via sudo).
BUILD ?= build
INSTALL_BUILD ?= build-install
MESON_OPTS ?=
PREFIX ?= /usr/local

FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 20

.PHONY: all deps setup check check-emulated check-kernel kernel bench bench-kernel fuzz install \
	clean

all: setup
	ninja -C $(BUILD)

deps:
	@sh scripts/install-deps.sh lib

# A build dir set up before cmocka was installed has no tests: set it up
# again once it is there (a make check after a plain make).
setup: deps
	@test -f $(BUILD)/build.ninja || meson setup $(BUILD) --prefix=$(PREFIX) $(MESON_OPTS)
	@if grep -q 'dependency cmocka found: NO' $(BUILD)/meson-logs/meson-log.txt 2>/dev/null && \
		pkg-config --exists cmocka; then meson setup --reconfigure $(BUILD) >/dev/null; fi

check:
	@sh scripts/install-deps.sh check
	@$(MAKE) --no-print-directory all
	@sh scripts/run-tests.sh $(BUILD)

# The KVM tests in the emulated host on every kernel of the matrix, even
# where /dev/kvm works (docs/TESTING.md).
check-emulated:
	@sh scripts/install-deps.sh check
	@$(MAKE) --no-print-directory all
	@IOFD_KVM=emulated sh scripts/run-tests.sh $(BUILD)

# The kernel series in kernel/: patched KVM modules and selftests of the
# pinned 6.12 source (scripts/kernel-build.sh), and their check in the
# emulated host, stock against patched (scripts/check-kernel.sh).
kernel:
	@sh scripts/install-deps.sh kernel
	@sh scripts/kernel-build.sh modules
	@sh scripts/kernel-build.sh selftests

check-kernel:
	@sh scripts/install-deps.sh check
	@sh scripts/check-kernel.sh

bench:
	@sh scripts/install-deps.sh bench
	@$(MAKE) --no-print-directory all
	@sh scripts/bench.sh $(BUILD) $(BENCH_ARGS)

# The doorbell table alone, every guest row on the kernel series
# (emulated host, patched 6.12), native KVM or not; no real guest.
bench-kernel:
	@sh scripts/install-deps.sh bench
	@$(MAKE) --no-print-directory all
	@IOFD_BENCH_KERNEL=patched-6.12 sh scripts/bench.sh $(BUILD) $(BENCH_ARGS)

# libFuzzer targets (clang, ASan+UBSan), FUZZ_SECONDS each; see fuzz/README.md.
fuzz:
	@sh scripts/install-deps.sh fuzz
	@test -f $(FUZZ_BUILD)/build.ninja || CC=clang CFLAGS=-fsanitize=fuzzer-no-link \
		meson setup $(FUZZ_BUILD) -Dfuzz=true -Dtests=false -Dtools=false \
		-Db_sanitize=address,undefined -Db_lundef=false
	ninja -C $(FUZZ_BUILD)
	@sh scripts/run-fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

install: deps
	@test -f $(INSTALL_BUILD)/build.ninja || meson setup $(INSTALL_BUILD) --prefix=$(PREFIX) \
		-Dtests=false -Dtools=false $(MESON_OPTS)
	meson install -C $(INSTALL_BUILD)
	@# Meson does not refresh the loader's cache: a VMM linked against the
	@# new libiofd.so.0 finds it at once when root installs (not for DESTDIR).
	@if [ "$$(id -u)" -eq 0 ] && [ -z "$(DESTDIR)" ]; then ldconfig; fi

clean:
	rm -rf $(BUILD) $(INSTALL_BUILD) $(FUZZ_BUILD)
