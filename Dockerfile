# syntax=docker/dockerfile:1
# Plan Gatekeeper: the image behind action.yml (`runs.using: docker`, `image: Dockerfile`).
#
# Base: python:3.12-slim (3.12.14, Debian trixie), pinned by the digest of its multi-arch index
# (amd64, arm64 and others), so the base cannot drift under a tag. The digest is the one public
# projects pin for that tag (it was not re-resolved from the registry when it was written: the
# build machine had no registry access). Bump it deliberately, and replace both FROM lines:
#   docker buildx imagetools inspect python:3.12-slim
# Dependencies: requirements.lock and requirements-build.lock pin every package by version and
# sha256 (scripts/lock-requirements.sh regenerates them); pip refuses anything else.
# CI builds this file for real (.ci/build-image.sh, buildah) and runs the result as the Actions
# runner runs a Docker action (.ci/image_smoke.py); releases push it prebuilt for amd64 and
# arm64 (.github/workflows/release.yml).

# ---- builder: build the package's wheel and install everything into a venv -------------------
FROM python:3.12-slim@sha256:78387bc3881b8273120a12ebe6c1ab22b018ccc2c9adf565ae1ac9b536e184ea AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
COPY requirements.lock requirements-build.lock ./
# Build backend (setuptools, wheel) into the builder's own Python only; binary wheels only, so no
# compiler is ever needed or present. The runtime venv gets the runtime dependencies, hash-checked.
RUN python -m pip install --require-hashes --only-binary=:all: --no-deps -r requirements-build.lock \
 && python -m venv /opt/gatekeeper \
 && /opt/gatekeeper/bin/pip install --require-hashes --only-binary=:all: --no-deps -r requirements.lock

COPY . .
RUN python -m pip wheel --no-deps --no-build-isolation --wheel-dir /dist . \
 && /opt/gatekeeper/bin/pip install --no-index --no-deps /dist/plan_gatekeeper-*.whl \
 && /opt/gatekeeper/bin/pip check \
 && /opt/gatekeeper/bin/python -m pip uninstall --yes pip \
 && /opt/gatekeeper/bin/gatekeeper --version

# ---- runtime: the venv and nothing else (no pip, setuptools, wheel, sources or compilers) ------
FROM python:3.12-slim@sha256:78387bc3881b8273120a12ebe6c1ab22b018ccc2c9adf565ae1ac9b536e184ea AS runtime

LABEL org.opencontainers.image.title="Plan Gatekeeper" \
      org.opencontainers.image.description="Keeps a required check red on destructive production Terraform/OpenTofu changes in AI-agent pull requests until enough distinct humans approve" \
      org.opencontainers.image.licenses="Apache-2.0"

# The base image's own pip is a package installer the gate never needs. This runs before PATH
# puts the venv first: there `python` would be the venv's interpreter, whose pip the builder
# already removed ("No module named pip").
RUN python -m pip uninstall --yes --root-user-action=ignore pip \
 && groupadd --system --gid 10001 gatekeeper \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin gatekeeper

COPY --from=builder /opt/gatekeeper /opt/gatekeeper
ENV PATH=/opt/gatekeeper/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# The image works only if the venv's console script does (fails the build otherwise).
RUN gatekeeper --version

ENTRYPOINT ["gatekeeper"]
CMD ["gate"]

# ---- cli: standalone use (`docker build --target cli`), runs as the unprivileged user ---------
FROM runtime AS cli
USER 10001:10001

# ---- action (default, last stage): what action.yml builds. GitHub runs Docker actions as root
# and needs it: the runner bind-mounts the workspace and /github/file_commands (GITHUB_OUTPUT,
# GITHUB_STEP_SUMMARY) owned by its own user, and a Docker action cannot pass `--user`.
# See docs.github.com "Dockerfile support for GitHub Actions" (USER). The gate job never runs
# pull request code, and the container is discarded after the step.
FROM runtime AS action
