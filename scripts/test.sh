#!/bin/sh
# test.sh — what `make test` runs: every package's tests with -race, each
# with a -timeout that leaves headroom over what it takes here (2 cores,
# other containers on the engine). The daemon package holds the real-time
# scenarios (a CronJob across minute boundaries and a restart, SIGTERM under
# load): whole minutes of mostly idle wall time, so it runs once, in
# parallel with the other packages instead of after them.
#
#   package            timeout   measured (2 cores)
#   ./daemon           12m       ~6 min (the 5-minute CronJob scenario)
#   ./cli              8m        ~2 min
#   ./runner/docker    5m        ~15 s
#   . (the module)     8m        ~1 min idle; > 3 min loaded (a cold static
#                                build of the binary and a docker build)
#   everything else    3m        < 10 s each (localapi ~2 min loaded)
#
# GOFLAGS and TESTFLAGS (e.g. TESTFLAGS=-v) are passed on.
set -u
cd "$(dirname "$0")/.."
go=${GO:-go}
flags="-race -count=1 ${TESTFLAGS:-}"
mod=$($go list -m)
rest=$($go list ./... | grep -vxF -e "$mod" -e "$mod/daemon" -e "$mod/cli" -e "$mod/runner/docker")

log=$(mktemp)
trap 'rm -f "$log"' EXIT
# shellcheck disable=SC2086 # flags are words
$go test $flags -timeout 12m ./daemon >"$log" 2>&1 &
daemon=$!

rc=0
# shellcheck disable=SC2086
$go test $flags -timeout 3m $rest || rc=1
# shellcheck disable=SC2086
$go test $flags -timeout 8m . ./cli || rc=1
# shellcheck disable=SC2086
$go test $flags -timeout 5m ./runner/docker || rc=1
wait "$daemon" || rc=1
cat "$log"
[ "$rc" = 0 ] || echo "FAIL: see above (if a module could not be downloaded: run make deps once while online)" >&2
exit "$rc"
