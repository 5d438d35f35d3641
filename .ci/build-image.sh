#!/usr/bin/env bash
# Provenance: copied from the project's shared tools (shared/tools/build-image.sh, sha256
# a308e78ab379dbee4c08d16c15f95db7c5e8735af73ea4e7e623c106c37e5482),
# verbatim below the next blank comment line, so that a clone of this repository builds its image
# without the shared folder. Same project, same license (Apache-2.0, see LICENSE). Used by
# .ci/run and `make image`: keep it in step with the original rather than editing it here.
#
# Builds the project's Dockerfile for real on a machine with no Docker engine and no access to
# Docker Hub, with buildah (Debian package; vfs storage, chroot isolation), and prints the tag.
#
#   ../shared/tools/build-image.sh [CONTEXT_DIR] [TARGET]     (defaults: . and the last stage)
#
# Docker Hub cannot be reached here, so every `FROM python:...` line is built FROM a local
# stand-in instead: Debian (debootstrap minbase) with python3, python3-venv, python-is-python3,
# no EXTERNALLY-MANAGED marker, and this machine's CA bundle so pip reaches the package registry.
# Its Python is Debian's (3.11 on bookworm), not the pinned image's 3.12: the build's steps,
# file layout, PATH, users and entrypoint are what this tests. Everything else in the Dockerfile
# (RUN, COPY --from, ENV, USER, ENTRYPOINT) runs as written, on a copy of the context.
#
# Run the result as the GitHub runner runs a Docker action, for example:
#   buildah --storage-driver vfs from --name gk-run localhost/gatekeeper-image:test
#   buildah --storage-driver vfs run --isolation chroot --env GITHUB_ACTIONS=true \
#       --volume "$PWD:/github/workspace" --workingdir /github/workspace gk-run -- gatekeeper --version
# (`buildah run` does not apply the image's ENTRYPOINT; name the command as the entrypoint does.)
# Needs root. First run: about 2 minutes (apt-get, debootstrap, base); later runs reuse the base.
set -euo pipefail
ctx=$(cd "${1:-.}" && pwd)
target=${2:-}
state=${GK_IMAGE_STATE:-/tmp/gk-image}
B=(buildah --storage-driver vfs)
export STORAGE_DRIVER=vfs BUILDAH_ISOLATION=chroot

if ! command -v buildah >/dev/null || ! command -v debootstrap >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah debootstrap >/dev/null
fi

base=localhost/gk-python-standin:bookworm
if ! "${B[@]}" inspect --type image "$base" >/dev/null 2>&1; then
  rootfs=$state/rootfs
  rm -rf "$rootfs"; mkdir -p "$state"
  debootstrap --variant=minbase bookworm "$rootfs" >"$state/debootstrap.log" 2>&1
  cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
  chroot "$rootfs" /bin/sh -c 'apt-get install -y -qq python3 python3-venv python3-pip python-is-python3 >/dev/null 2>&1 && rm -f /usr/lib/python3*/EXTERNALLY-MANAGED'
  mkdir -p "$rootfs/etc/ssl/certs"
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >"$rootfs/etc/pip.conf"
  c=$("${B[@]}" from scratch)
  m=$("${B[@]}" mount "$c")
  cp -a "$rootfs/." "$m/"
  "${B[@]}" umount "$c" >/dev/null
  "${B[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$c"
  "${B[@]}" commit -q "$c" "$base" >/dev/null
  "${B[@]}" rm "$c" >/dev/null
fi

work=$state/context
rm -rf "$work"; mkdir -p "$work"
cp -a "$ctx/." "$work/"
# Every FROM of a python image (with or without tag/digest, with or without AS) -> the stand-in.
sed -i -E 's#^(FROM[[:space:]]+)(docker\.io/(library/)?)?python(:[^[:space:]@]*)?(@sha256:[0-9a-f]+)?#\1'"$base"'#' "$work/Dockerfile"
tag=localhost/gatekeeper-image:test
args=(bud --isolation chroot --network host -t "$tag")
[ -n "$target" ] && args+=(--target "$target")
"${B[@]}" "${args[@]}" "$work" >"$state/build.log" 2>&1 || {
  tail -20 "$state/build.log" >&2
  echo "build-image: the Dockerfile failed to build (full log: $state/build.log)" >&2
  exit 1
}
echo "$tag"
