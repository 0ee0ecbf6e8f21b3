# Sourced by the test scripts that drive the CLI (tests/cli/cli_checks.sh, tests/data/own_data.sh):
# pass/fail lines, a failure count, and `expect CODE PATTERN -- command...`, which checks the
# exit code and a pattern in stderr+stdout.
failures=0
pass() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
expect() {
  local code=$1 pattern=$2; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [[ $rc -ne $code ]]; then fail "$* -> exit $rc, expected $code: $out"; return; fi
  if ! grep -qE -- "$pattern" <<<"$out"; then fail "$* -> output lacks /$pattern/: $out"; return; fi
  pass "$* (exit $rc)"
}
