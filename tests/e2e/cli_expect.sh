# Sourced by the roamctl CLI tests: `expect CODE PATTERN -- ARGS...` runs roamctl with ARGS
# and checks its exit code and a pattern in stdout+stderr; failures are counted in $fails.
# Needs $build.
fails=0
expect() {
  local code=$1 pat=$2
  shift 3
  local out rc
  out=$("$build/host/roamctl" "$@" 2>&1)
  rc=$?
  if [ "$rc" -ne "$code" ] || ! grep -qE -- "$pat" <<< "$out"; then
    echo "FAIL: roamctl $* -> exit $rc (want $code), output: $out"
    fails=$((fails + 1))
  else
    echo "ok: roamctl $* -> $code"
  fi
}
