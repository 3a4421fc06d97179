#!/bin/sh
# run-vs-docker.sh [N] — wall time of `localjobs run -f` of a pod running
# `true` next to `docker run --rm` of the same image, N times each,
# interleaved, in one run. Prints the means and the ratio.
set -eu
n=${1:-10}
cd "$(dirname "$0")/.."
go build -o ./localjobs .
image=localjobs-bench/true:latest
sh scripts/ensure-images.sh "$image" >/dev/null 2>&1 || true
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/true.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: bench-true
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: $image
    imagePullPolicy: IfNotPresent
    command: ["true"]
YAML
export LOCALJOBS_STATE_DIR="$tmp/state"
now() { date +%s%N; }
lj=0 dr=0
i=0
while [ "$i" -lt "$n" ]; do
	t0=$(now); ./localjobs run -f "$tmp/true.yaml" >/dev/null; t1=$(now)
	docker run --rm "$image" true; t2=$(now)
	lj=$((lj + t1 - t0)); dr=$((dr + t2 - t1))
	i=$((i + 1))
done
awk -v lj="$lj" -v dr="$dr" -v n="$n" 'BEGIN {
	printf "localjobs run -f: %.0f ms   docker run --rm: %.0f ms   ratio %.2f   (mean of %d each)\n",
		lj/n/1e6, dr/n/1e6, lj/dr, n }'
