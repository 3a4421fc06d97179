#!/bin/sh
# ensure-docker.sh — make sure a Docker engine answers and busybox-static
# (the source of the test images) is installed. Used by `make test`.
#
# Idempotent and quiet when everything is already in place. On a fresh
# Debian/Ubuntu machine it installs busybox-static and docker.io with apt-get,
# starts dockerd (service, systemctl, or directly in the background) and waits
# until `docker info` works. Environment:
#   ENSURE_DOCKER_TIMEOUT  seconds to wait for the engine (default 60)
#   DOCKERD_LOG            dockerd's log when started directly (default /var/log/dockerd.log)
set -eu

timeout_s=${ENSURE_DOCKER_TIMEOUT:-60}
dockerd_log=${DOCKERD_LOG:-/var/log/dockerd.log}

say() { echo "ensure-docker: $*" >&2; }
die() { say "$*"; exit 1; }

sudo=""
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		sudo="sudo"
	fi
fi

apt_updated=""
apt_install() {
	command -v apt-get >/dev/null 2>&1 ||
		die "cannot install $* automatically: apt-get not found; install it with your package manager"
	say "installing $* (apt-get)"
	if [ -z "$apt_updated" ]; then
		$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null ||
			die "apt-get update failed"
		apt_updated=1
	fi
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null ||
		die "apt-get install $* failed"
}

# busybox-static: the test images are built from it, never pulled.
if [ ! -x /bin/busybox ]; then
	apt_install busybox-static
	[ -x /bin/busybox ] || die "busybox-static installed but /bin/busybox is missing"
fi

docker_ok() { docker info >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && docker_ok; then
	exit 0
fi

if ! command -v docker >/dev/null 2>&1; then
	apt_install docker.io
fi

# An engine elsewhere (DOCKER_HOST=tcp://…, ssh://…) cannot be started here.
case "${DOCKER_HOST:-unix:///var/run/docker.sock}" in
unix://*) ;;
*) die "the Docker engine at DOCKER_HOST=$DOCKER_HOST does not answer: $(docker info 2>&1 | tail -n 1)" ;;
esac

sock=${DOCKER_HOST:-unix:///var/run/docker.sock}
sock=${sock#unix://}
# Only the system engine (/var/run/docker.sock) can be started here: an
# engine DOCKER_HOST names elsewhere (rootless, Docker Desktop, Colima…) is
# its owner's to start, and waiting for it would wait for nothing.
case "$sock" in
/var/run/docker.sock | /run/docker.sock) ;;
*)
	[ -S "$sock" ] || die "DOCKER_HOST=$DOCKER_HOST names a socket that does not exist: start the engine that listens there, or unset DOCKER_HOST to use the system engine"
	die "the Docker engine at DOCKER_HOST=$DOCKER_HOST does not answer: $(docker info 2>&1 | tail -n 1)"
	;;
esac
if [ -S "$sock" ] && docker info 2>&1 | grep -qi 'permission denied'; then
	die "no permission to use $sock: add yourself to the docker group (sudo usermod -aG docker \$USER, then log in again) or run as root"
fi

direct=""
if ! pgrep -x dockerd >/dev/null 2>&1; then
	started=""
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
		$sudo systemctl start docker >/dev/null 2>&1 && started=1
	fi
	if [ -z "$started" ] && command -v service >/dev/null 2>&1 && [ -x /etc/init.d/docker ]; then
		$sudo service docker start >/dev/null 2>&1 && started=1
	fi
	if [ -z "$started" ]; then
		command -v dockerd >/dev/null 2>&1 || die "dockerd not found (install docker.io)"
		say "starting dockerd in the background (log: $dockerd_log)"
		# shellcheck disable=SC2024 # the log is written by the invoking user's shell
		$sudo sh -c "nohup dockerd >>'$dockerd_log' 2>&1 &"
		direct=1
	fi
fi

i=0
while [ "$i" -lt "$((timeout_s * 2))" ]; do
	if docker_ok; then
		exit 0
	fi
	sleep 0.5
	i=$((i + 1))
done

say "the Docker engine did not answer within ${timeout_s}s: $(docker info 2>&1 | tail -n 1)"
if [ -n "$direct" ] && [ -r "$dockerd_log" ]; then
	say "last lines of $dockerd_log:"
	tail -n 20 "$dockerd_log" >&2
fi
exit 1
