#!/bin/sh
# ensure-images.sh IMAGE… — make sure each image exists on the Docker engine.
# Used by `make up` for the example images.
#
# For each image: present → nothing to do; else `docker pull` (20 s at most);
# if that fails (no network, no registry), build a local stand-in from the
# host's busybox-static binary — FROM scratch, /bin/busybox plus a symlink for
# every applet, /tmp — labelled io.localjobs.stand-in=true, tagged as the
# requested name, and say so.
set -eu

busybox=${BUSYBOX:-/bin/busybox}
pull_timeout=${PULL_TIMEOUT:-20}

say() { echo "localjobs: $*" >&2; }

[ "$#" -gt 0 ] || { echo "usage: $0 IMAGE…" >&2; exit 2; }

standin() {
	image=$1
	[ -x "$busybox" ] || {
		say "image \"$image\" could not be pulled and $busybox is missing to build a stand-in (apt-get install busybox-static)"
		return 1
	}
	case "$image" in
	*@*) say "image \"$image\" is pinned by digest: a stand-in cannot carry that digest; pull it when online"; return 1 ;;
	esac
	dir=$(mktemp -d)
	trap 'rm -rf "$dir"' EXIT
	mkdir -p "$dir/bin" "$dir/usr/bin" "$dir/etc" "$dir/root" "$dir/tmp"
	chmod 1777 "$dir/tmp"
	chmod 700 "$dir/root"
	cp "$busybox" "$dir/bin/busybox"
	chmod 755 "$dir/bin/busybox"
	for applet in $("$busybox" --list); do
		[ "$applet" = busybox ] || ln -s busybox "$dir/bin/$applet"
	done
	ln -s /bin/busybox "$dir/usr/bin/env"
	# Many examples say `bash -c …`; busybox has no bash applet, so the
	# stand-in's bash is its POSIX sh (bash-only syntax will not work).
	[ -e "$dir/bin/bash" ] || printf '#!/bin/sh\nexec /bin/sh "$@"\n' >"$dir/bin/bash"
	chmod 755 "$dir/bin/bash"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$dir/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$dir/etc/group"
	# docker import needs no builder and no base image.
	tar -C "$dir" --numeric-owner --owner=0 --group=0 -cf - . |
		docker import \
			--change 'CMD ["sh"]' \
			--change 'LABEL io.localjobs.stand-in="true"' \
			--change 'LABEL org.opencontainers.image.description="localjobs stand-in built from Debian busybox-static"' \
			- "$image" >/dev/null
	rm -rf "$dir"
	trap - EXIT
}

status=0
for image in "$@"; do
	if docker image inspect "$image" >/dev/null 2>&1; then
		continue
	fi
	if timeout "$pull_timeout" docker pull -q "$image" >/dev/null 2>&1; then
		say "pulled image \"$image\""
		continue
	fi
	if standin "$image"; then
		say "image \"$image\" could not be pulled; built a local stand-in from Debian's busybox-static"
	else
		status=1
	fi
done
exit "$status"
