#!/usr/bin/env bash
# sdk-abi.sh: the binary interface of post/sdk.h, as libabigail sees it.
#
#   sdk-abi.sh dump  [-I INCLUDE_DIR] OUT.abi
#       Writes the ABI of INCLUDE_DIR/post/sdk.h (default: sdk/include) as abidw XML.
#   sdk-abi.sh check [-I INCLUDE_DIR] [BASELINE.abi]
#       Compares it with BASELINE.abi (default: post_sdk_abi_<POST_ABI_MAJOR>.abi beside
#       this script) and prints abidiff's report of any difference.
#
# The ABI is that of abi_surface.c, compiled (-g -std=c99) into a shared object against the
# header: a function per public type and an enumerator per constant (see README.md for what
# is compared, and the policy). No suppression: every change abidiff reports is a failure.
#
# Environment: CC (default cc), ABIDW and ABIDIFF (default abidw, abidiff from PATH; Debian
# package abigail-tools, installed by tools/install-deps).
# Exit status: 0 the ABI is the baseline's; 1 abidiff reports a change; 2 the check could
# not run (a tool is missing, the header does not compile, no baseline, ...).
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"

die() {
  echo "sdk-abi: $*" >&2
  exit 2
}
usage() {
  sed -n '3,8p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

mode="${1:-}"
[ $# -gt 0 ] && shift
include="$here/../include"
while getopts "I:" opt; do
  case "$opt" in
    I) include="$OPTARG" ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))

cc="${CC:-cc}"
abidw="${ABIDW:-abidw}"
abidiff="${ABIDIFF:-abidiff}"
for tool in "$cc" "$abidw" "$abidiff"; do
  command -v "$tool" >/dev/null ||
    die "$tool not found (abidw and abidiff are in Debian's abigail-tools: tools/install-deps)"
done
[ -f "$include/post/sdk.h" ] || die "no post/sdk.h in $include"
include="$(cd "$include" && pwd)"
header="$include/post/sdk.h"
major="$(sed -n 's/^#define POST_ABI_MAJOR \([0-9][0-9]*\).*/\1/p' "$header")"
[ -n "$major" ] || die "no POST_ABI_MAJOR in $header"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Writes the ABI of $header to $1. The surface is compiled under a relative name in a
# scratch directory, and abidw leaves out paths, locations and the architecture, so the
# output depends on the header's declarations only (not on its comments or this machine).
dump() {
  cp "$here/abi_surface.c" "$work/abi_surface.c"
  (cd "$work" && "$cc" -std=c99 -g -O0 -fPIC -shared -I "$include" -o abi_surface.so \
    abi_surface.c) || die "abi_surface.c does not compile against $header"
  "$abidw" --no-corpus-path --no-comp-dir-path --no-show-locs --no-architecture \
    --type-id-style hash --out-file "$1" "$work/abi_surface.so" || die "abidw failed"
}

case "$mode" in
  dump)
    [ $# -eq 1 ] || usage
    dump "$1"
    ;;
  check)
    [ $# -le 1 ] || usage
    baseline="${1:-$here/post_sdk_abi_$major.abi}"
    [ -f "$baseline" ] ||
      die "no baseline $baseline for ABI major $major (sdk/abi/update-baseline.sh makes one)"
    dump "$work/current.abi"
    "$abidiff" --no-default-suppression --no-architecture "$baseline" "$work/current.abi" \
      >"$work/report" 2>&1
    status=$?
    if [ "$status" -eq 0 ]; then
      echo "sdk-abi: the ABI of $header is the one of $(basename "$baseline")"
      exit 0
    fi
    cat "$work/report"
    # abidiff's status is a bit set: 1 error, 2 usage error, 4 ABI change, 8 incompatible.
    [ $((status & 3)) -eq 0 ] || die "abidiff failed (status $status)"
    echo "sdk-abi: the ABI of $header differs from $(basename "$baseline") (abidiff status" \
      "$status). Within ABI $major.x only members appended at the end of a struct_size-first" \
      "struct are allowed, with POST_ABI_MINOR bumped and the baseline regenerated" \
      "(sdk/abi/update-baseline.sh); see sdk/abi/README.md." >&2
    exit 1
    ;;
  *)
    usage
    ;;
esac
