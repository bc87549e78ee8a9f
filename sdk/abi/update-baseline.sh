#!/usr/bin/env bash
# update-baseline.sh: regenerates the ABI baseline of post/sdk.h (sdk/abi/README.md).
#
#   update-baseline.sh [-I INCLUDE_DIR] [-o BASELINE.abi]
#
# Writes post_sdk_abi_<POST_ABI_MAJOR>.abi beside this script (or BASELINE.abi) from the
# header in INCLUDE_DIR (default: sdk/include). When a baseline for that major version
# exists and the ABI differs from it, refuses unless POST_ABI_MINOR was bumped, and prints
# abidiff's report: review it before committing (only members appended at the end of
# post_host_api, post_plugin_vtable or post_plugin_descriptor, new constants and the minor
# version may change within a major version).
#
# Exit status: 0 written or already up to date; 1 refused; 2 the check could not run.
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
include="$here/../include"
baseline=""
while getopts "I:o:" opt; do
  case "$opt" in
    I) include="$OPTARG" ;;
    o) baseline="$OPTARG" ;;
    *)
      sed -n '4p' "$0" | sed 's/^# \{0,1\}//' >&2
      exit 2
      ;;
  esac
done

header="$include/post/sdk.h"
[ -f "$header" ] || { echo "update-baseline: no $header" >&2; exit 2; }
version_of() { sed -n "s/^#define POST_ABI_$1 \([0-9][0-9]*\).*/\1/p" "$header"; }
major="$(version_of MAJOR)"
minor="$(version_of MINOR)"
baseline="${baseline:-$here/post_sdk_abi_$major.abi}"

if [ ! -f "$baseline" ]; then
  "$here/sdk-abi.sh" dump -I "$include" "$baseline" || exit 2
  echo "update-baseline: wrote $baseline, the first baseline of ABI $major.$minor"
  exit 0
fi

report="$("$here/sdk-abi.sh" check -I "$include" "$baseline" 2>&1)"
case $? in
  0)
    echo "update-baseline: $baseline is up to date (ABI $major.$minor)"
    exit 0
    ;;
  1) ;;
  *)
    echo "$report" >&2
    exit 2
    ;;
esac

old_minor="$(sed -n "s/.*<enumerator name='post_abi_minor' value='\([0-9][0-9]*\)'.*/\1/p" \
  "$baseline")"
echo "$report"
if [ -z "$old_minor" ] || [ "$minor" -le "$old_minor" ]; then
  echo "update-baseline: refused: the ABI changed but POST_ABI_MINOR is still $minor." \
    "Append members and bump POST_ABI_MINOR, or make it a new major version." >&2
  exit 1
fi
"$here/sdk-abi.sh" dump -I "$include" "$baseline" || exit 2
echo "update-baseline: wrote $baseline for ABI $major.$minor (was $major.$old_minor)." \
  "Check the report above shows only appended members, new constants and the minor version."
