#!/usr/bin/env bash
# Measures what each way of running the action costs per event, and prints the figures:
#   1. install from the lock: a fresh venv, `pip install --require-hashes -r requirements.lock`
#      from PyPI with no pip cache and no local wheel mirror (what the Dockerfile's build does
#      on every event when action.yml says `image: Dockerfile`);
#   2. the image build with .ci/build-image.sh, warm (the stand-in base already built, as
#      GitHub has python:3.12-slim cached or pulls it in seconds); with --cold also from
#      nothing (the stand-in base rebuilt with debootstrap: this machine only);
#   3. starting the built image and running `gatekeeper --version` (what a prebuilt image costs
#      once it is pulled), the baseline the build is compared against in the same run;
#   4. the image's size (what a prebuilt image's pull transfers, before compression).
# Needs root and buildah (.ci/build-image.sh installs it). Usage:
#   bash scripts/bench_image.sh [--cold]
set -euo pipefail
cd "$(dirname "$0")/.."
cold=false
[ "${1:-}" = "--cold" ] && cold=true
B=(buildah --storage-driver vfs)
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# 1. Install from the lock, as the image's builder stage does (PyPI only, no cache).
python3 -m venv "$tmp/venv"
cert=()
[ -f /etc/ssl/certs/ca-certificates.crt ] && cert=(--cert /etc/ssl/certs/ca-certificates.crt)
t0=$(now)
PIP_CONFIG_FILE=/dev/null "$tmp/venv/bin/python" -m pip install -q --disable-pip-version-check \
  --no-cache-dir "${cert[@]}" --require-hashes --only-binary=:all: --no-deps -r requirements.lock
t1=$(now)
install=$(secs "$t0" "$t1")

# 2. The image build.
if $cold; then
  "${B[@]}" rmi -f localhost/gk-python-standin:bookworm >/dev/null 2>&1 || true
  rm -rf "${GK_IMAGE_STATE:-/tmp/gk-image}"
  t0=$(now)
  tag="$(bash .ci/build-image.sh .)"
  t1=$(now)
  cold_build=$(secs "$t0" "$t1")
fi
t0=$(now)
tag="$(bash .ci/build-image.sh .)"
t1=$(now)
warm_build=$(secs "$t0" "$t1")

# 3. Starting the built image (the prebuilt image's per-event cost once pulled).
c="gk-bench-$$"
t0=$(now)
"${B[@]}" from --name "$c" "$tag" >/dev/null
"${B[@]}" run --isolation chroot "$c" -- gatekeeper --version >/dev/null
t1=$(now)
start=$(secs "$t0" "$t1")
m=$("${B[@]}" mount "$c")
size=$(du -sm "$m" | cut -f1)
venv_size=$(du -sm "$m/opt/gatekeeper" | cut -f1)
"${B[@]}" umount "$c" >/dev/null
"${B[@]}" rm "$c" >/dev/null

echo "install from requirements.lock (PyPI, no cache):  ${install} s"
$cold && echo "image build, cold (stand-in base from nothing):   ${cold_build} s"
echo "image build, warm (base present):                  ${warm_build} s"
echo "start the built image + gatekeeper --version:      ${start} s (vfs copy of the image included)"
echo "image size: ${size} MiB uncompressed (the gatekeeper venv: ${venv_size} MiB)"
awk -v b="$warm_build" -v s="$start" 'BEGIN { printf "warm build / start: %.1fx\n", b / s }'
