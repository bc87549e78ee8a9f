#!/usr/bin/env bash
# Proves that the ABI check (sdk/abi/sdk-abi.sh) catches incompatible changes to post/sdk.h:
# each case edits a copy of the header and asserts the verdict of the check against the
# committed baseline: 0 (same ABI), 1 (abidiff reports a change) or 2 (no baseline). A case whose edit no
# longer applies to the header fails, so the cases follow the header as it evolves.
# Then checks that update-baseline.sh takes an append with a minor bump and refuses a
# change without one.
#
# Usage: sdk_abi_check_test.sh SDK_DIR   (the source tree's sdk/; CC picks the compiler)
set -uo pipefail

sdk="$(cd "${1:?usage: sdk_abi_check_test.sh SDK_DIR}" && pwd)"
check="$sdk/abi/sdk-abi.sh"
update="$sdk/abi/update-baseline.sh"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failures=0
cases=0

# Makes $work/<name>/post/sdk.h: the header with each perl substitution (-0: the whole file
# is one string) applied in turn; fails when one of them changes nothing.
mutate() {
  local name="$1"
  shift
  mkdir -p "$work/$name/post"
  local copy="$work/$name/post/sdk.h"
  cp "$sdk/include/post/sdk.h" "$copy"
  local edit
  for edit in "$@"; do
    cp "$copy" "$work/before.h"
    perl -0pi -e "$edit" "$copy"
    if cmp -s "$copy" "$work/before.h"; then
      echo "FAIL $name: the edit '$edit' no longer applies to sdk.h; update this test" >&2
      return 1
    fi
  done
}

# expect <name> <0|1> <perl substitution>...: the check's status on the edited header.
expect() {
  local name="$1" want="$2"
  shift 2
  cases=$((cases + 1))
  mutate "$name" "$@" || { failures=$((failures + 1)); return; }
  "$check" check -I "$work/$name" >"$work/$name.out" 2>&1
  local got=$?
  if [ "$got" -eq "$want" ]; then
    echo "ok   $name (status $got)"
  else
    echo "FAIL $name: the check returned $got, expected $want; its output:" >&2
    sed 's/^/    /' "$work/$name.out" >&2
    failures=$((failures + 1))
  fi
}

# Pieces of sdk.h the edits use.
host_api_end='(\n\} post_host_api;)'
append_to_host_api="s/$host_api_end/\n  void (*added_in_1_2)(post_host* host);\$1/"
bump_minor='s/#define POST_ABI_MINOR 1/#define POST_ABI_MINOR 2/'
swap_config_getters='s/(  post_status \(\*config_get_int\)\([^;]*;)\n(  post_status \(\*config_get_bool\)\([^;]*;)/$2\n$1/'

# Controls: nothing or only comments changed.
expect declarations-unchanged 0 's/\A/\/* a copy *\/\n/'
expect comment-only 0 's/(\/\* Frees a string or buffer)/\/* Moved down a line. *\/\n$1/'

# Layout changes of the struct_size-first structs.
expect swap-host-api-members 1 "$swap_config_getters"
expect remove-last-host-api-member 1 's/\n  void \(\*admin_reply\)\([^;]*;//'
expect remove-a-1.0-host-api-member 1 's/\n  post_status \(\*scribe_anycast\)\([^;]*;//'
expect insert-vtable-member-in-the-middle 1 \
  's/(\n  void \(\*stop\)\(post_plugin\* plugin\);)/\n  void (*pause)(post_plugin* plugin);$1/'
expect swap-descriptor-name-and-version 1 \
  's/(  const char\* name;[^\n]*)\n(  const char\* version;[^\n]*)/$2\n$1/'
expect widen-host-api-abi-minor 1 's/(post_host_api \{\n  uint32_t struct_size;\n  uint16_t abi_major;\n  )uint16_t/$1uint32_t/'
# Appending is the allowed change, but only with a new baseline (see update-baseline below);
# and an append does not hide a reordering next to it.
expect append-to-host-api-without-new-baseline 1 "$append_to_host_api" "$bump_minor"
expect append-and-swap-host-api-members 1 "$append_to_host_api" "$swap_config_getters"

# Callbacks, fixed structs, typedefs, the entry point and constants.
expect accept-callback-fd-type 1 's/(post_listener_id listener, )int fd\)/$1int64_t fd)/'
expect done-callback-parameter-removed 1 \
  's/\(\*post_done_fn\)\(void\* ctx, post_status status, const char\* message\)/(*post_done_fn)(void* ctx, post_status status)/'
expect bytes-size-narrowed 1 's/(const uint8_t\* data;\n  )size_t size;/$1uint32_t size;/'
expect error-message-shortened 1 's/#define POST_ERROR_MESSAGE_SIZE 512/#define POST_ERROR_MESSAGE_SIZE 256/'
expect timer-id-narrowed 1 's/typedef uint64_t post_timer_id;/typedef uint32_t post_timer_id;/'
expect entry-point-minor-widened 1 's/(uint16_t host_abi_major,\n\s*)uint16_t host_abi_minor/$1uint32_t host_abi_minor/'
expect status-code-renumbered 1 's/#define POST_ERR_IO \(-4\)/#define POST_ERR_IO (-9)/'
expect log-level-renumbered 1 's/#define POST_LOG_WARN 3u/#define POST_LOG_WARN 5u/'
# A new major version is checked against a baseline of its own, which does not exist yet.
expect major-version-bumped-needs-its-own-baseline 2 \
  's/#define POST_ABI_MAJOR 1/#define POST_ABI_MAJOR 2/' \
  's/post_plugin_entry_v1/post_plugin_entry_v2/g'

# update-baseline.sh on a copy of the baseline: an append with a minor bump becomes the new
# baseline (and then passes the check); a change without a bump is refused.
cases=$((cases + 1))
cp "$sdk/abi/post_sdk_abi_1.abi" "$work/baseline.abi"
mutate minor-1.2 "$append_to_host_api" "$bump_minor" &&
  "$update" -I "$work/minor-1.2" -o "$work/baseline.abi" >"$work/update.out" 2>&1 &&
  "$check" check -I "$work/minor-1.2" "$work/baseline.abi" >>"$work/update.out" 2>&1
if [ $? -eq 0 ]; then
  echo "ok   update-baseline takes an append with a minor bump"
else
  echo "FAIL update-baseline did not take an append with a minor bump:" >&2
  sed 's/^/    /' "$work/update.out" >&2
  failures=$((failures + 1))
fi

cases=$((cases + 1))
cp "$sdk/abi/post_sdk_abi_1.abi" "$work/baseline.abi"
mutate swap-unbumped "$swap_config_getters" &&
  "$update" -I "$work/swap-unbumped" -o "$work/baseline.abi" >"$work/refuse.out" 2>&1
status=$?
if [ "$status" -eq 1 ] && cmp -s "$work/baseline.abi" "$sdk/abi/post_sdk_abi_1.abi"; then
  echo "ok   update-baseline refuses a change without a minor bump"
else
  echo "FAIL update-baseline returned $status for a change without a minor bump:" >&2
  sed 's/^/    /' "$work/refuse.out" >&2
  failures=$((failures + 1))
fi

echo "$((cases - failures)) of $cases cases passed"
[ "$failures" -eq 0 ]
