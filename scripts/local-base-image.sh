#!/usr/bin/env bash
# A local stand-in for python:3.11-slim-bookworm, for machines that reach no container registry.
#
# debootstrap a minimal Debian bookworm with Debian's own python3 (3.11), trim it the way the
# slim images are trimmed, trust the host's extra CA certificates (pip inside `docker build`
# may go through a TLS-intercepting proxy), and `docker import` it twice:
#   NAME-build  with python3-venv (ensurepip's pip and setuptools wheels): the build stage
#   NAME        without them (~3 MB the runtime never uses): the runtime stage
# Needs root (debootstrap, chroot) and a running Docker engine.
#
# Prints "NAME NAME-build" on stdout; progress goes to stderr. The debootstrap (~50 s) is
# skipped when both images exist from the same inputs (this script and the host's extra CA
# certificates): each carries their hash in the label fargate-env.base-key.
#
# Env: LOCAL_BASE_IMAGE (NAME), DEBIAN_MIRROR, LOCAL_BASE_REBUILD=1 (ignore the cache).
set -euo pipefail

SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# python-is-python3: the official image has `python`; the Dockerfile runs `python -m venv`.
PACKAGES=python3,python3-venv,python-is-python3,ca-certificates
BUILD_ONLY="python3-venv python3.11-venv python3-pip-whl python3-setuptools-whl"
NAME=${LOCAL_BASE_IMAGE:-fargate-env-base:python3.11-bookworm}
BUILD_NAME=$NAME-build
EXTRA_CA_DIR=/usr/local/share/ca-certificates
PYTHON_MINOR=3.11 # what python:3.11-slim-bookworm promises; checked below
LABEL=fargate-env.base-key

log() { echo "local-base: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

command -v docker >/dev/null || die "docker not found"
docker info >/dev/null 2>&1 || die "no Docker engine answers (start dockerd)"

# The cache key: this script and the CA certificates it bakes in.
key=$(
  {
    cat "${BASH_SOURCE[0]}"
    if [[ -d $EXTRA_CA_DIR ]]; then
      find "$EXTRA_CA_DIR" -type f -print0 | sort -z | xargs -0r cat
    fi
  } | sha256sum | cut -c1-16
)
key_of() { docker image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$1" 2>/dev/null; }
if [[ ${LOCAL_BASE_REBUILD:-0} != 1 && $(key_of "$NAME") == "$key" &&
  $(key_of "$BUILD_NAME") == "$key" ]]; then
  log "$NAME(-build) up to date (key $key)"
  echo "$NAME $BUILD_NAME"
  exit 0
fi

[[ $(id -u) == 0 ]] || die "debootstrap needs root (run as root, or with sudo)"
command -v debootstrap >/dev/null || die "debootstrap not found (apt-get install debootstrap)"

work=$(mktemp -d "${TMPDIR:-/tmp}/local-base.XXXXXX")
rootfs=$work/rootfs
cleanup() {
  # debootstrap mounts /proc and /sys inside the target; a failed run can leave them mounted,
  # so unmount before deleting, and never let rm cross into another filesystem.
  local mounts
  mounts=$(awk -v r="$rootfs/" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r)
  for m in $mounts; do umount -l "$m" || true; done
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

log "debootstrap $SUITE from $MIRROR"
log "  with $PACKAGES"
started=$SECONDS
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$rootfs" "$MIRROR" \
  >"$work/debootstrap.log" 2>&1 || {
  tail -n 20 "$work/debootstrap.log" >&2
  die "debootstrap failed (log above)"
}
log "debootstrap took $((SECONDS - started)) s"

version=$(chroot "$rootfs" python3 -c 'import platform; print(platform.python_version())')
[[ $version == "$PYTHON_MINOR".* ]] || die "Debian $SUITE has Python $version, not $PYTHON_MINOR"

if compgen -G "$EXTRA_CA_DIR/*" >/dev/null; then
  log "trusting the host's extra CA certificates"
  cp -a "$EXTRA_CA_DIR"/. "$rootfs$EXTRA_CA_DIR"/
  chroot "$rootfs" update-ca-certificates >"$work/update-ca.log" 2>&1 || {
    cat "$work/update-ca.log" >&2
    die "update-ca-certificates failed"
  }
fi

# Trim like the official slim images (debuerreotype --slimify): no docs but copyrights, no man
# pages, no translations, no apt lists or caches; and keep later apt installs slim too.
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
EOF
trim() {
  find "$rootfs/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
  find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
  rm -rf "$rootfs"/usr/share/{man,info,lintian}/* "$rootfs"/var/cache/apt/* \
    "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/* "$rootfs"/tmp/* \
    "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/lib/dpkg/*-old
}
trim
# Docker provides /dev, /etc/hostname and /etc/resolv.conf at run time; drop the host's copies.
find "$rootfs/dev" -mindepth 1 -delete
: >"$rootfs/etc/hostname"
: >"$rootfs/etc/resolv.conf"

import_rootfs() {
  local name=$1 old
  old=$(docker image inspect -f '{{ .Id }}' "$name" 2>/dev/null || true)
  log "importing $(du -sm "$rootfs" | cut -f1) MB as $name"
  tar --numeric-owner -C "$rootfs" -c . | docker import \
    --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change "ENV LANG=C.UTF-8" \
    --change "LABEL $LABEL=$key" \
    --change "LABEL org.opencontainers.image.description=\"debootstrap $SUITE, Python $version\"" \
    --change 'CMD ["python3"]' \
    - "$name" >/dev/null
  # The image this one replaces, unless something still uses it.
  if [[ -n $old ]]; then docker image rm "$old" >/dev/null 2>&1 || true; fi
}
import_rootfs "$BUILD_NAME"
# shellcheck disable=SC2086 # word splitting of the package list is intended
chroot "$rootfs" dpkg --purge $BUILD_ONLY >"$work/purge.log" 2>&1 || {
  cat "$work/purge.log" >&2
  die "dpkg --purge $BUILD_ONLY failed"
}
trim
import_rootfs "$NAME"
echo "$NAME $BUILD_NAME"
