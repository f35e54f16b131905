#!/usr/bin/env bash
# Every command's --help and docs/cli.md agree: each command answers --help
# (and -h) on stdout with exit 0; every long option its help names is in
# docs/cli.md, and every option of the command's row in docs/cli.md is in its
# help (bench: in the help of one of its benchmarks); the commands that read
# their arguments by hand take --name=value as getopt's commands do.
#   tests/cli/help.sh EPPSIM
set -uo pipefail
EPPSIM=$(realpath "$1")
SRC=$(cd "$(dirname "$0")/../.." && pwd)
CLI_MD="$SRC/docs/cli.md"
W=$(mktemp -d /tmp/eppsim-cli-help-XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W"
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
opts() { grep -o -- '--[a-z][a-z0-9-]*' | sort -u; }

"$EPPSIM" --help > top.txt || fail "eppsim --help exits non-zero"
cmds=$(awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { exit }' top.txt)
[ -n "$cmds" ] || fail "eppsim --help lists no commands"
for c in $cmds; do
  [ "$c" = version ] && continue
  "$EPPSIM" "$c" --help > "$c.txt" 2> "$c.err" || fail "eppsim $c --help exits non-zero"
  [ -s "$c.txt" ] || fail "eppsim $c --help prints nothing on stdout"
  "$EPPSIM" "$c" -h > "$c-h.txt" 2>&1 || fail "eppsim $c -h exits non-zero"
  cmp -s "$c.txt" "$c-h.txt" || fail "eppsim $c -h differs from --help"
  if [ "$c" = bench ]; then
    for b in $(awk '/^benchmarks:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { exit }' bench.txt); do
      "$EPPSIM" bench "$b" --help >> bench.txt 2>&1 || fail "eppsim bench $b --help exits non-zero"
    done
  fi
  row=$(grep -- "^| \`$c[ \`]" "$CLI_MD")
  [ -n "$row" ] || { fail "docs/cli.md has no row for $c"; continue; }
  [ "$(printf '%s\n' "$row" | wc -l)" = 1 ] || fail "docs/cli.md has $(printf '%s\n' "$row" | wc -l) rows for $c"
  # the row's usage (first cell) against the help, both ways
  printf '%s\n' "$row" | head -1 | awk -F' \\| ' '{ print $1 }' | opts > "$c.doc"
  opts < "$c.txt" | grep -vx -- '--help' > "$c.help"
  for o in $(comm -23 "$c.doc" "$c.help"); do fail "docs/cli.md's $c row names $o, which eppsim $c --help does not"; done
  for o in $(cat "$c.help"); do
    grep -q -- "$o\\b" "$CLI_MD" || fail "eppsim $c --help names $o, which docs/cli.md does not"
  done
done
# --name=value where argv is read by hand
"$EPPSIM" explain --state="$SRC/docs/explain-example/state.json" --json > /dev/null 2> e.err ||
  fail "explain --state=FILE: $(cat e.err)"
"$EPPSIM" trace stats --format=mooncake "$SRC/data/traces/mooncake-conversation/conversation_trace.jsonl" > /dev/null 2> t.err ||
  fail "trace stats --format=F: $(cat t.err)"
"$EPPSIM" trace gen --requests=10 --rate=5 -o g.jsonl > /dev/null 2> g.err && [ "$(wc -l < g.jsonl)" = 10 ] ||
  fail "trace gen --requests=10: $(cat g.err)"
"$EPPSIM" config --bogus=1 > /dev/null 2> c.err && fail "config --bogus=1 accepted"
grep -q "unknown option '--bogus'" c.err || fail "config --bogus=1: $(cat c.err)"
echo "help: $fails failed"
[ "$fails" = 0 ]
