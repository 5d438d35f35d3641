locals {
  envs = { "$${lit}" = "dev", "plain" = "prod", "%%{pct}" = "dev" }
}
resource "terraform_data" "k" {
  for_each = local.envs
  input    = { env = each.value }
  triggers_replace = var.v
}
variable "v" { default = "1" }
