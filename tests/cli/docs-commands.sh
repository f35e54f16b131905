#!/usr/bin/env bash
# Every command in a ```sh block of README.md and docs/*.md runs as written,
# in order, in a fresh copy of the tree (tracked and new files, no out/).
# Liberties, for a test's time: `eppsim run`/`sweep` lines (scripts/run-default
# too) get `--set workload.num_requests=60 --set results.warmup_s=0`,
# `eppsim calibrate` lines `--iterations 2` (the fit loop runs, briefly); the
# copy's scripts/build uses the binary under test instead of compiling; `scripts/test` (which runs this test)
# and blocks after a `<!-- doc-test: skip REASON -->` line are not run.
# As in the project's layout, `eppsim` is on PATH (the copy's build/app/eppsim)
# and ../shared (validation data, never copied into the tree) is next to it.
# `eppsim compare` may exit 1 (a regression is its answer); the rest must exit 0.
#   tests/cli/docs-commands.sh EPPSIM
set -uo pipefail
EPPSIM=$(realpath "$1")
SRC=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d /tmp/eppsim-cli-docs-XXXXXX)
trap 'rm -rf "$W"' EXIT
fails=0 n=0 skipped=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
git -C "$SRC" rev-parse --git-dir > /dev/null 2>&1 || { echo "docs-commands: $SRC is not a git checkout; skipped"; exit 0; }
mkdir "$W/clone"
(cd "$SRC" && git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} sh -c '[ -e "{}" ] && printf "%s\0" "{}"' |
  tar --null -T - -cf -) | tar -C "$W/clone" -xf -
mkdir -p "$W/clone/build/app"
cp "$EPPSIM" "$W/clone/build/app/eppsim"
printf '#!/usr/bin/env bash\necho "eppsim: (doc test) using the binary under test" >&2\n' > "$W/clone/scripts/build"
# ../shared (the validation data) as the docs name it: beside the source, or
# the parent of $EPPSIM_VALIDATION_DIR; commands that need it are skipped
# (and counted) where neither exists, as on a bare CI machine
if [ -d "$SRC/../shared" ]; then ln -s "$(cd "$SRC/../shared" && pwd)" "$W/shared"
elif [ -n "${EPPSIM_VALIDATION_DIR:-}" ] && [ -d "$EPPSIM_VALIDATION_DIR" ]; then
  mkdir "$W/shared" && ln -s "$(cd "$EPPSIM_VALIDATION_DIR" && pwd)" "$W/shared/validation"
fi
export PATH="$W/clone/build/app:$PATH"
cd "$W/clone"
# the sh blocks, one command per line (continuations joined), with the file and line
for doc in README.md docs/*.md; do
  awk -v f="$doc" '/<!-- doc-test: skip/ { skip = 1; next }
    /^```sh$/ { inb = 1; cmd = ""; block = FNR; next }
    /^```/ && inb { inb = 0; skip = 0; next }
    inb && !skip { line = $0; if (cmd == "") start = FNR
      if (line ~ /\\$/) { cmd = cmd substr(line, 1, length(line) - 1); next }
      cmd = cmd line; if (cmd !~ /^[ \t]*(#.*)?$/) print f ":" start "\t" f ":" block "\t" cmd; cmd = "" }' "$doc"
done > "$W/commands.tsv"
[ -s "$W/commands.tsv" ] || fail "no command found in README.md"
# a command that needs ../shared, where it is absent, is skipped with the rest
# of its block (later commands use what it would have made)
noshared=
while IFS=$'\t' read -r where block cmd; do
  case "$cmd" in scripts/test*) continue ;; esac
  [ "$block" = "$noshared" ] && { skipped=$((skipped + 1)); continue; }
  case "$cmd" in *../shared/*) [ -d "$W/shared" ] || { skipped=$((skipped + 1)); noshared=$block; continue; } ;; esac
  run=$(printf '%s' "$cmd" | sed -E 's#(eppsim (run|sweep))( |$)#\1 --set workload.num_requests=60 --set results.warmup_s=0\3#; s#^(scripts/run-default)( |$)#\1 --set workload.num_requests=60 --set results.warmup_s=0\2#')
  case "$run" in *"eppsim calibrate"*) run=$(printf '%s' "$run" | sed -E 's#--iterations [0-9]+#--iterations 2#g; s#(eppsim calibrate)( |$)#\1 --iterations 2\2#') ;; esac
  n=$((n + 1))
  t0=$SECONDS
  bash -c "$run" < /dev/null > "$W/out.txt" 2>&1; rc=$?
  printf '%d\t%s\n' $((SECONDS - t0)) "$where" >> "$W/times.tsv"
  ok=0; [ $rc = 0 ] && ok=1
  case "$cmd" in *"eppsim compare"*) [ $rc = 1 ] && ok=1 ;; esac
  [ $ok = 1 ] || { fail "$where: '$cmd' exits $rc:"; tail -5 "$W/out.txt" | sed 's/^/    /'; }
done < "$W/commands.tsv"
echo "docs-commands: $n commands, $fails failed, $skipped skipped (no ../shared validation data here)"
echo "slowest (s): $(sort -rn "$W/times.tsv" 2>/dev/null | head -5 | tr '\t\n' ' ,')"
[ "$fails" = 0 ]
