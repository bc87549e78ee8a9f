#!/usr/bin/env bash
# Rebuilds frozen_echo_v1.so from frozen_echo_v1.c with the flags post_add_plugin() uses for
# a C plugin (hidden visibility, PIC, the SDK's version script, -z defs), then strips it.
#
# This is a record of how the committed binary was made, not a build step: the binary must
# stay what plugins built against ABI 1.0 look like. Run it only to recreate that same
# binary from the ABI 1.0 header (e.g. git show <1.0 commit>:sdk/include/post/sdk.h), never
# to "update" it for a newer SDK; a newer ABI gets a fixture of its own.
#
# Usage: build.sh [SDK_INCLUDE_DIR]   (default: sdk/include of this tree)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
include="${1:-$root/sdk/include}"
cc="${CC:-gcc}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Relative names, so that no path of this machine ends up in the object.
cp "$here/frozen_echo_v1.c" "$work/"
cp "$root/sdk/cmake/post_plugin.map" "$work/"
mkdir -p "$work/include/post"
cp "$include/post/sdk.h" "$work/include/post/"
(
  cd "$work"
  "$cc" -std=c99 -pedantic -Wall -Wextra -Werror -O2 -fPIC -fvisibility=hidden \
    -Iinclude -c frozen_echo_v1.c -o frozen_echo_v1.o
  "$cc" -shared -o frozen_echo_v1.so frozen_echo_v1.o \
    -Wl,--version-script=post_plugin.map -Wl,-z,defs
  strip --strip-all frozen_echo_v1.so
)
cp "$work/frozen_echo_v1.so" "$here/frozen_echo_v1.so"

echo "compiler:  $("$cc" --version | head -n1)"
echo "sdk.h:     $(sha256sum "$include/post/sdk.h" | cut -d' ' -f1)"
echo "binary:    $(sha256sum "$here/frozen_echo_v1.so" | cut -d' ' -f1)"
echo "size:      $(stat -c %s "$here/frozen_echo_v1.so") bytes"
echo "needs:     $(readelf -d "$here/frozen_echo_v1.so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
echo "exports:   $(nm -D --defined-only "$here/frozen_echo_v1.so" | awk '{print $3}' | tr '\n' ' ')"
