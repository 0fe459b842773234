#!/usr/bin/env bash
# `make image`: build the sample server image (server/Dockerfile) as sample-server:local.
#
# The base is the official python:3.11-slim-bookworm when it is here or a registry hands it out;
# otherwise a local stand-in built from Debian packages (scripts/local-base-image.sh, cached).
# Uses the legacy builder: BuildKit needs a registry for its frontend on these machines.
#
# Env: IMAGE (default sample-server:local), BASE_IMAGE (default the Dockerfile's), BUILD_IMAGE
#      (build stage; default BASE_IMAGE), LOCAL_BASE=1 (skip the registry, use the local
#      stand-in), PULL_TIMEOUT (s, default 60).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-sample-server:local}
OFFICIAL=$(sed -n 's/^ARG BASE_IMAGE=//p' server/Dockerfile)
BASE=${BASE_IMAGE:-$OFFICIAL}
BUILD_BASE=${BUILD_IMAGE:-$BASE}

log() { echo "image: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

command -v docker >/dev/null || die "docker not found"
docker info >/dev/null 2>&1 || die "no Docker engine answers (start dockerd)"

present_or_pulled() {
  docker image inspect "$1" >/dev/null 2>&1 ||
    timeout "${PULL_TIMEOUT:-60}" docker pull --quiet "$1" >/dev/null 2>&1
}
if [[ ${LOCAL_BASE:-0} == 1 ]]; then
  bases=$(scripts/local-base-image.sh)
  read -r BASE BUILD_BASE <<<"$bases"
elif present_or_pulled "$BASE" && present_or_pulled "$BUILD_BASE"; then
  log "base $BASE (build stage: $BUILD_BASE)"
elif [[ $BASE == "$OFFICIAL" && $BUILD_BASE == "$OFFICIAL" ]]; then
  log "cannot pull $BASE; using a local stand-in"
  bases=$(scripts/local-base-image.sh)
  read -r BASE BUILD_BASE <<<"$bases"
else
  die "base $BASE or $BUILD_BASE is neither here nor pullable"
fi
[[ -n $BASE && -n $BUILD_BASE ]] || die "no base image"

old=$(docker image inspect -f '{{ .Id }}' "$IMAGE" 2>/dev/null || true)
build_log=$(mktemp "${TMPDIR:-/tmp}/build-image.XXXXXX.log")
trap 'rm -f "$build_log"' EXIT
started=$SECONDS
DOCKER_BUILDKIT=0 docker build --build-arg "BASE_IMAGE=$BASE" \
  --build-arg "BUILD_IMAGE=$BUILD_BASE" -t "$IMAGE" server/ \
  >"$build_log" 2>&1 || {
  tail -n 30 "$build_log" >&2
  log "error: docker build failed (last lines above)"
  exit 1
}
# The image this build replaced (untagged now), unless a container still uses it.
if [[ -n $old && $old != $(docker image inspect -f '{{ .Id }}' "$IMAGE") ]]; then
  docker image rm "$old" >/dev/null 2>&1 || true
fi
size=$(docker image inspect -f '{{ .Size }}' "$IMAGE")
log "built $IMAGE in $((SECONDS - started)) s on $BASE"
log "$IMAGE: $(awk -v b="$size" 'BEGIN { printf "%.1f MB (%.1f MiB)", b / 1e6, b / 1048576 }')"
