#!/bin/sh
# ensure-chromium.sh — make sure a headless-capable Chromium is installed
# (the dashboard's browser test loads the page in it). Used by `make test-ui`.
#
# Idempotent and quiet when chromium is already there. On a Debian/Ubuntu
# machine it installs Debian's `chromium` package with apt-get (as root, or
# through sudo). It never downloads a browser build of its own. Prints the
# path of the browser on stdout. Environment:
#   CHROMIUM  a browser to use instead (path or command name)
set -eu

say() { echo "ensure-chromium: $*" >&2; }
die() { say "$*"; exit 1; }

find_browser() {
	for b in ${CHROMIUM:-} chromium chromium-browser; do
		if command -v "$b" >/dev/null 2>&1; then
			command -v "$b"
			return 0
		fi
	done
	return 1
}

if find_browser; then
	exit 0
fi
[ -z "${CHROMIUM:-}" ] || die "CHROMIUM=$CHROMIUM: no such command"

sudo=""
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null 2>&1 ||
		die "chromium is missing and installing it needs root: run 'apt-get install -y chromium' as root, or install sudo"
	sudo="sudo"
fi
command -v apt-get >/dev/null 2>&1 ||
	die "chromium is missing and apt-get was not found: install Chromium with your package manager (or set CHROMIUM=/path/to/chrome)"

say "installing chromium (apt-get)"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null ||
	die "apt-get update failed"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null ||
	die "apt-get install chromium failed"
find_browser || die "chromium was installed but no chromium command is on PATH"
