#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# iofd as a user installs it (CI, .ci/run): `make install` into a fresh
# prefix, then what the README promises of the installed files, each a TAP
# case, and one closing line "N passed, N failed, N skipped":
#   - the install pulled only the library profile (no test files installed);
#   - the shim carries RUNPATH $ORIGIN and preloads into `true` and `ls`
#     with no ldconfig and no LD_LIBRARY_PATH;
#   - a program built with `pkg-config --cflags --libs iofd`, as C and as
#     C++, runs against the installed library;
#   - the installed shim preloaded into a KVM program (the raw post-write
#     uapi program of BUILD), natively where /dev/kvm works, in the emulated
#     host on stock 6.12 elsewhere;
#   - the README's embedding example (examples/embed) built with pkg-config
#     iofd and run the same way.
# Usage: scripts/install-check.sh BUILD (a build dir with the tests built)
set -u
BUILD=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
n=0 pass=0 fail=0 skip=0

result() { # result ok|fail|skip description [reason]
	n=$((n + 1))
	case $1 in
	ok) pass=$((pass + 1)); echo "ok $n - $2" ;;
	skip) skip=$((skip + 1)); echo "ok $n - $2 # SKIP $3" ;;
	*) fail=$((fail + 1)); echo "not ok $n - $2${3:+: $3}" ;;
	esac
}

if make -C "$top" --no-print-directory install PREFIX="$prefix" \
	INSTALL_BUILD="$work/build" >"$work/install.log" 2>&1; then
	result ok "make install into a fresh prefix"
else
	sed 's/^/# /' "$work/install.log"
	result fail "make install into a fresh prefix"
	echo "$pass passed, $fail failed, $skip skipped"
	exit 1
fi
libdir=$(dirname "$(find "$prefix" -name libiofd.so.0 | head -n 1)")
shim=$libdir/libiofd-shim.so
pcdir=$libdir/pkgconfig

# Only the libraries, headers, pkg-config files and manual pages.
extra=$(cd "$prefix" && find . -type f | grep -vE \
	'/lib(iofd|iofd-device|iofd-shim)\.so|/include/iofd/[a-z-]+\.h$|/pkgconfig/iofd(-device)?\.pc$|/man/man[37]/iofd[a-z_]*\.[37]$|/man/man7/libiofd-shim\.7$')
if [ -z "$extra" ]; then
	result ok "only libraries, headers, .pc files and manual pages installed"
else
	result fail "only libraries, headers, .pc files and manual pages installed" \
		"also $(echo "$extra" | tr '\n' ' ')"
fi

if readelf -d "$shim" 2>/dev/null | grep -q 'RUNPATH.*\[\$ORIGIN\]'; then
	result ok "the installed shim finds libiofd beside it (RUNPATH \$ORIGIN)"
else
	result fail "the installed shim finds libiofd beside it (RUNPATH \$ORIGIN)" \
		"$(readelf -d "$shim" 2>&1 | grep -iE 'rpath|runpath')"
fi
for prog in true "ls /"; do
	# shellcheck disable=SC2086
	if out=$(env -u LD_LIBRARY_PATH LD_PRELOAD="$shim" $prog 2>&1 >/dev/null) &&
		[ -z "$out" ]; then
		result ok "LD_PRELOAD=<prefix>/libiofd-shim.so $prog"
	else
		result fail "LD_PRELOAD=<prefix>/libiofd-shim.so $prog" "$out"
	fi
done

# A program of one's own against the installed headers, as C and C++.
for lang in c c++; do
	if [ "$lang" = c ]; then compiler=${CC:-cc}; else compiler=${CXX:-c++}; fi
	if ! command -v "$compiler" >/dev/null; then
		result skip "a $lang program built with pkg-config iofd" "no $compiler"
		continue
	fi
	flags=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs iofd) &&
		# shellcheck disable=SC2086
		"$compiler" -x "$lang" -Wall -Wextra -Werror \
			"$top/tests/install/use_iofd.c" -x none -o "$work/use_$lang" $flags \
			-Wl,-rpath,"$libdir" >"$work/cc.log" 2>&1 &&
		env -u LD_LIBRARY_PATH "$work/use_$lang" >>"$work/cc.log" 2>&1
	if [ $? -eq 0 ]; then
		result ok "a $lang program built with pkg-config iofd runs"
	else
		sed 's/^/# /' "$work/cc.log"
		result fail "a $lang program built with pkg-config iofd runs"
	fi
done

# The installed shim in a KVM program: the raw post-write uapi program.
raw=$BUILD/tests/shim_raw_post_write
if [ ! -x "$raw" ]; then
	result fail "the installed shim preloaded into a KVM program" "no $raw (build the tests)"
elif python3 "$here/kvm-native.py" 2>/dev/null; then
	if env -u LD_LIBRARY_PATH LD_PRELOAD="$shim" "$raw" >"$work/raw.log" 2>&1; then
		result ok "the installed shim preloaded into a KVM program (native KVM)"
	else
		sed 's/^/# /' "$work/raw.log"
		result fail "the installed shim preloaded into a KVM program (native KVM)"
	fi
else
	"$here/emuhost" --kernel stock-6.12 --timeout 300 --with "$shim" \
		--env LD_PRELOAD="$shim" -- "$raw" >"$work/raw.log" 2>&1
	case $? in
	0) result ok "the installed shim preloaded into a KVM program (emulated host, stock 6.12)" ;;
	77) result skip "the installed shim preloaded into a KVM program" \
		"no KVM: neither /dev/kvm nor the emulated host" ;;
	*)
		sed 's/^/# /' "$work/raw.log"
		result fail "the installed shim preloaded into a KVM program (emulated host, stock 6.12)"
		;;
	esac
fi

# The README's embedding example, built as a VMM author builds it.
embed=$work/embed
flags=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs iofd) &&
	# shellcheck disable=SC2086
	"${CC:-cc}" -Wall -Wextra -Werror -pthread "$top/examples/embed/embed.c" \
		-o "$embed" $flags -Wl,-rpath,"$libdir" >"$work/embed.log" 2>&1
if [ $? -ne 0 ]; then
	sed 's/^/# /' "$work/embed.log"
	result fail "examples/embed built with pkg-config iofd"
elif python3 "$here/kvm-native.py" 2>/dev/null; then
	if env -u LD_LIBRARY_PATH "$embed" >"$work/embed.log" 2>&1; then
		result ok "examples/embed built with pkg-config iofd runs (native KVM)"
	else
		sed 's/^/# /' "$work/embed.log"
		result fail "examples/embed built with pkg-config iofd runs (native KVM)"
	fi
else
	"$here/emuhost" --kernel stock-6.12 --timeout 300 -- "$embed" \
		>"$work/embed.log" 2>&1
	case $? in
	0) result ok "examples/embed built with pkg-config iofd runs (emulated host, stock 6.12)" ;;
	77) result skip "examples/embed built with pkg-config iofd runs" \
		"no KVM: neither /dev/kvm nor the emulated host" ;;
	*)
		sed 's/^/# /' "$work/embed.log"
		result fail "examples/embed built with pkg-config iofd runs (emulated host, stock 6.12)"
		;;
	esac
fi
echo "1..$n"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
