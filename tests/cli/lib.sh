# Sourced by tests/cli/*.sh: reporting a check, and waiting for a condition
# instead of sleeping.
# A loaded machine (ctest -j N, sanitizers, other jobs on the cores) can be
# many times slower than an idle one, so a test waits for what it needs, with
# a deadline generous enough that only a real failure reaches it.

# wait_for SECONDS CMD...: runs CMD every 50 ms until it succeeds (0), or
# SECONDS pass (1).
wait_for() {
  local end=$((SECONDS + $1)); shift
  until "$@"; do [ "$SECONDS" -ge "$end" ] && return 1; sleep 0.05; done
}
# has_lines FILE PATTERN COUNT: FILE has at least COUNT lines matching PATTERN.
has_lines() { local n; n=$(grep -c -- "$2" "$1" 2>/dev/null); [ "${n:-0}" -ge "$3" ]; }
# wait_lines FILE PATTERN COUNT [SECONDS]: waits (default 30 s) for has_lines.
wait_lines() { wait_for "${4:-30}" has_lines "$1" "$2" "$3"; }

# check NAME CONDITION-EXIT-CODE DETAIL: prints "ok   NAME", or "FAIL NAME:
# DETAIL" and counts it in $fails (the script exits 1 when fails > 0).
check() {
  if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1: $3"; fails=$((fails + 1)); fi
}
