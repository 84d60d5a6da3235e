#!/usr/bin/env bash
# `cmake --install BUILD_DIR --prefix P` puts the host programs and the documentation where
# docs/deploy.md says, and the installed programs run from there.
# usage: install_check.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/roamgate-install.XXXXXX)
prefix=$work/prefix
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
installed() { find "$prefix" -type f 2>/dev/null | sed "s|^$prefix/||" | sort | tr '\n' ' '; }

cmake --install "$build" --prefix "$prefix" > "$work/install.log" 2>&1 ||
  { cat "$work/install.log"; fail "cmake --install $build --prefix $prefix failed"; }
want=(bin/roamctl bin/roamd bin/roamsim bin/ranemu share/doc/roamgate/README.md share/doc/roamgate/ARCHITECTURE.md
  share/doc/roamgate/deploy.md share/doc/roamgate/registers.md share/doc/roamgate/roamd.toml
  lib/systemd/system/roamd.service)
for f in "${want[@]}"; do
  [ -e "$prefix/$f" ] || fail "$f is not installed (installed: $(installed))"
  # deploy.md names every installed path, so an operator knows where to look.
  grep -q "${f#share/doc/roamgate/}" "$src/docs/deploy.md" || fail "docs/deploy.md does not name $f"
done
grep -q 'share/doc/roamgate/' "$src/docs/deploy.md" || fail "docs/deploy.md does not name share/doc/roamgate/"
grep -q 'cmake --install build --prefix' "$src/docs/deploy.md" || fail "docs/deploy.md does not say how to install"
[ -x "$prefix/bin/roamctl" ] && [ -x "$prefix/bin/roamsim" ] || fail "the installed programs are not executable"
cmp -s "$src/docs/deploy.md" "$prefix/share/doc/roamgate/deploy.md" || fail "the installed deploy.md is not the repository's"

# The installed programs run on their own (no build-tree RPATH needed).
out=$("$prefix/bin/roamctl" --help) || fail "installed roamctl --help exits $?"
grep -q '^usage: roamctl' <<< "$out" || fail "installed roamctl --help prints no usage: $out"
out=$("$prefix/bin/roamd" --help) || fail "installed roamd --help exits $?"
grep -q '^usage: roamd' <<< "$out" || fail "installed roamd --help prints no usage: $out"
# The unit starts the installed roamd with the configuration deploy.md tells to copy.
grep -q "^ExecStart=/usr/local/bin/roamd --config /etc/roamgate/roamd.toml" "$prefix/lib/systemd/system/roamd.service" ||
  fail "roamd.service does not start /usr/local/bin/roamd with /etc/roamgate/roamd.toml"
# The example configuration is one roamd accepts (its devices are absent here: it must get
# past the configuration and fail on the store, exit 3, not on the file, exit 2).
set +e
"$prefix/bin/roamd" --config "$prefix/share/doc/roamgate/roamd.toml" --store etcd:127.0.0.1:1 \
  --api "$work/r.sock" --metrics '' > "$work/roamd.log" 2>&1
rc=$?
set -e
[ "$rc" -eq 3 ] || { cat "$work/roamd.log"; fail "roamd with the example configuration exits $rc, want 3 (no store)"; }
out=$("$prefix/bin/roamsim" --help 2>&1) || fail "installed roamsim --help exits $?"
grep -qi 'usage' <<< "$out" || fail "installed roamsim --help prints no usage: $out"
out=$("$prefix/bin/ranemu" --help 2>&1) || fail "installed ranemu --help exits $?"
grep -qi 'usage' <<< "$out" || fail "installed ranemu --help prints no usage: $out"
# With no simulator at the socket, the installed roamctl says so: exit status 3 (no device).
set +e
"$prefix/bin/roamctl" --device "sim:$prefix/none.sock" info > /dev/null 2>&1
rc=$?
set -e
[ "$rc" -eq 3 ] || fail "installed roamctl with no simulator exits $rc, want 3 (no device)"
echo "PASS: installed $(installed)"
