#!/bin/sh
# run-examples.sh BIN DIR — run every example in DIR with `BIN run -f` and
# check it reaches the outcome its header documents:
#   # expect: exit=N status=WORD
# (status is the final STATUS kubectl would show for the pod or job).
# Exits 0 only if every example behaved as documented, failing ones included.
set -u
bin=$1 dir=$2
fails=0
for f in "$dir"/*.yaml; do
	want=$(sed -n 's/^# expect: *//p' "$f" | head -n 1)
	[ -n "$want" ] || { echo "== $f: no '# expect:' header"; fails=$((fails + 1)); continue; }
	case "$want" in skip*) echo "== $f: $want"; continue ;; esac
	wexit=$(echo "$want" | sed -n 's/.*exit=\([0-9]*\).*/\1/p')
	wstatus=$(echo "$want" | sed -n 's/.*status=\([A-Za-z]*\).*/\1/p')
	echo "== $bin run -f $f   (expected: exit $wexit, $wstatus)"
	out=$("$bin" run -f "$f" 2>&1)
	code=$?
	echo "$out"
	
	if [ "$code" != "$wexit" ]; then
		echo "!! $f: exit $code, expected $wexit"
		fails=$((fails + 1))
	elif ! echo "$out" | grep -q "$wstatus"; then
		echo "!! $f: status $wstatus not seen"
		fails=$((fails + 1))
	else
		echo "ok $f: exit $code, $wstatus"
	fi
done
if [ "$fails" -gt 0 ]; then
	echo "$fails example(s) did not reach their documented outcome"
	exit 1
fi
echo "all examples reached their documented outcome"
