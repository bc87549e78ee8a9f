#!/usr/bin/env bash
# Installs the SDK component of a build tree to a temporary prefix, then builds an
# out-of-tree plugin against it with find_package(PostSDK), and checks the pkg-config file.
#   sdk_install_test.sh <build dir> <out-of-tree project dir> [<dir to keep hello.so in>]
set -euo pipefail
build=$1
project=$2
keep=${3:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --component sdk --prefix "$work/prefix" >/dev/null
cmake -S "$project" -B "$work/build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/build" -j1 >/dev/null

exports=$(nm -D --defined-only "$work/build/hello.so" | awk '{print $3}')
if [ "$exports" != post_plugin_entry_v1 ]; then
  echo "hello.so exports: $exports (expected only post_plugin_entry_v1)" >&2
  exit 1
fi

export PKG_CONFIG_PATH="$work/prefix/share/pkgconfig"
cflags=$(pkg-config --cflags postsdk)
case "$cflags" in
  *"-I$work/prefix/share/pkgconfig/../../include"*) ;;
  *) echo "pkg-config --cflags postsdk: $cflags" >&2; exit 1 ;;
esac
if [ -n "$keep" ]; then
  mkdir -p "$keep"
  cp "$work/build/hello.so" "$keep/hello.so.tmp" && mv "$keep/hello.so.tmp" "$keep/hello.so"
fi
# The C header alone, with the pkg-config flags, as strict C99.
echo '#include <post/sdk.h>' | cc -std=c99 -pedantic -Wall -Werror -fsyntax-only $cflags -x c -
echo "installed SDK builds an out-of-tree plugin exporting only post_plugin_entry_v1"
