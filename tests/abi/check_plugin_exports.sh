#!/usr/bin/env bash
# Fails unless each plugin given defines exactly one dynamic symbol, post_plugin_entry_v1
# (what post_add_plugin's version script and hidden visibility promise). Anything else a
# plugin exports can interpose on, or be interposed by, the host and the other plugins.
#
# Usage: check_plugin_exports.sh NM PLUGIN.so...
set -uo pipefail

nm="${1:?usage: check_plugin_exports.sh NM PLUGIN.so...}"
shift
[ $# -gt 0 ] || { echo "check_plugin_exports: no plugin given" >&2; exit 2; }

failures=0
for plugin in "$@"; do
  if [ ! -f "$plugin" ]; then
    echo "FAIL $plugin: no such file (is it built?)" >&2
    failures=$((failures + 1))
    continue
  fi
  if ! symbols="$("$nm" -D --defined-only "$plugin" | awk 'NF >= 3 { print $3 }' | sort -u)"; then
    echo "FAIL $plugin: $nm cannot read it" >&2
    failures=$((failures + 1))
    continue
  fi
  if [ "$symbols" = "post_plugin_entry_v1" ]; then
    echo "ok   $plugin"
  else
    echo "FAIL $plugin defines these dynamic symbols, not post_plugin_entry_v1 alone:" >&2
    echo "${symbols:-    (none)}" | sed 's/^/    /' >&2
    failures=$((failures + 1))
  fi
done
[ "$failures" -eq 0 ]
