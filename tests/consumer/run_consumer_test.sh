#!/usr/bin/env bash
# Installs the built tree into a temporary prefix and builds a program against it, the way a
# user would: `cmake` mode with find_package(ftcodec CONFIG), `pkg-config` mode with
# `pkg-config --cflags --libs ftcodec`; `cmake-torch` adds a program linking the torch component
# (ftcodec::ftcodec_torch). Then runs them (round trips).
#   run_consumer_test.sh cmake|cmake-torch|pkg-config BUILD_DIR SOURCE_DIR CXX
set -euo pipefail
mode=$1 build=$2 src=$3 cxx=$4
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ftcodec-consumer.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
for f in include/ftcodec/ftcodec.h include/ftcodec/version.h bin/ftcodec; do
  [ -e "$prefix/$f" ] || { echo "not installed: $f" >&2; exit 1; }
done
case $mode in
  cmake|cmake-torch)
    torch=OFF
    [ "$mode" = cmake-torch ] && torch=ON
    cmake -S "$src/tests/consumer" -B "$tmp/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$prefix" -DFTC_CONSUMER_TORCH=$torch >/dev/null
    cmake --build "$tmp/build" >/dev/null
    "$tmp/build/consumer"
    [ $torch = OFF ] || "$tmp/build/consumer_torch"
    "$prefix/bin/ftcodec" --version  # the installed CLI finds what it links
    if [ -e "$build/ftcodec-full" ]; then
      # The full executable is installed beside the lean one, which hands jobs over to it.
      [ -x "$prefix/bin/ftcodec-full" ] || { echo "not installed: bin/ftcodec-full" >&2; exit 1; }
      "$prefix/bin/ftcodec-full" --version
      if [ $torch = ON ]; then
        # Only ftcodec-full defines tune's options; the lean ftcodec lists the subcommand.
        env -u FTCODEC_FULL "$prefix/bin/ftcodec" tune --help | grep -q -- --max-drop ||
          { echo "the installed ftcodec did not hand 'tune' over" >&2; exit 1; }
      fi
    fi
    # The Python package, where it was built: importable from the prefix's dist-packages.
    module=$(find "$prefix" -name '_ftcodec*.so' | head -n 1)
    if [ -n "$module" ]; then
      PYTHONPATH=$(dirname "$(dirname "$module")") /usr/bin/python3 -c '
import numpy as np, ftcodec
x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
assert np.array_equal(ftcodec.decode(ftcodec.encode(x, codec="raw")), x)
print("python package from the prefix:", ftcodec.__file__)'
    fi
    if command -v help2man >/dev/null; then
      [ -s "$prefix/share/man/man1/ftcodec.1" ] || { echo "man page not installed" >&2; exit 1; }
      if [ -e "$build/ftcodec-full" ] && [ ! -s "$prefix/share/man/man1/ftcodec-full.1" ]; then
        echo "man page ftcodec-full.1 not installed" >&2; exit 1
      fi
    fi
    ;;
  pkg-config)
    libdir=$(dirname "$(find "$prefix" -name ftcodec.pc | head -n 1)")
    flags=$(PKG_CONFIG_PATH="$libdir" pkg-config --cflags --libs ftcodec)
    echo "pkg-config --cflags --libs ftcodec: $flags"
    # shellcheck disable=SC2086 # the flags are words
    "$cxx" -std=c++17 -O1 -o "$tmp/consumer" "$src/tests/consumer/consumer.cc" $flags
    LD_LIBRARY_PATH="$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$tmp/consumer"
    ;;
  *) echo "usage: $0 cmake|cmake-torch|pkg-config BUILD_DIR SOURCE_DIR CXX" >&2; exit 1 ;;
esac
