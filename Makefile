# Developer shortcuts. Every target runs what CONTRIBUTING.md describes; CI is .ci/run.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: dev lint test test-fast lock fixtures image image-smoke bench-image ci

dev: ## a venv with the package (editable) and the test tools
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -e '.[test]'

lint: ## ruff, format, mypy --strict, then hadolint, actionlint, zizmor, shellcheck
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	.ci/lint-action

test: ## the whole suite (about 3 minutes on 2 cores)
	$(PY) -m pytest

test-fast: ## the unit tests: no local GitHub server, no end-to-end run, nothing slow (under 60 s)
	$(PY) -m pytest -q -m "not slow and not e2e"

lock: ## regenerate requirements.lock and requirements-build.lock (hash-pinned, for the image)
	bash scripts/lock-requirements.sh

fixtures: ## regenerate fixtures/terraform with a real Terraform
	bash scripts/make-fixtures.sh

image: ## build the Dockerfile with buildah (needs root), prints the tag
	bash .ci/build-image.sh .

image-smoke: image ## run the built image as the Actions runner does, against tests/ghserver
	$(PY) .ci/image_smoke.py localhost/gatekeeper-image:test

bench-image: ## install-from-lock and image build times
	bash scripts/bench_image.sh

ci: ## what CI runs: a fresh clone, the README commands, lint, the image
	CI=true bash .ci/run
