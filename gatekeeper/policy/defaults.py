"""Shipped defaults: what counts as production, which resource types hold state, who is an agent.

Each list is a starting point that users extend in `.github/gatekeeper.yml`. Sources: provider
docs for stateful resource types; the vendors' docs for agent accounts, branch names and commit
trailers (checked in November 2026).
"""

from __future__ import annotations

TAG_ATTRIBUTES = ("tags", "tags_all", "labels")
TAG_KEYS = ("env", "environment", "stage", "tier")
TAG_VALUES = ("prod", "production", "prd", "live")

# Types whose destruction loses data, keys, names or whole clusters: a replace of one of these
# is an outage or a data loss whatever its tags say.
PROTECTED_TYPES = (
    # AWS: databases and data stores
    "aws_db_instance",
    "aws_db_cluster_snapshot",
    "aws_rds_cluster",
    "aws_rds_cluster_instance",
    "aws_rds_global_cluster",
    "aws_dynamodb_table",
    "aws_dynamodb_global_table",
    "aws_docdb_cluster",
    "aws_docdb_elastic_cluster",
    "aws_neptune_cluster",
    "aws_redshift_cluster",
    "aws_redshiftserverless_namespace",
    "aws_elasticache_cluster",
    "aws_elasticache_replication_group",
    "aws_elasticache_serverless_cache",
    "aws_memorydb_cluster",
    "aws_elasticsearch_domain",
    "aws_opensearch_domain",
    "aws_timestreamwrite_table",
    "aws_keyspaces_table",
    "aws_qldb_ledger",
    "aws_kinesis_stream",
    "aws_msk_cluster",
    "aws_mq_broker",
    "aws_sqs_queue",
    # AWS: storage, keys, names, identity
    "aws_s3_bucket",
    "aws_s3_directory_bucket",
    "aws_efs_file_system",
    "aws_ebs_volume",
    "aws_fsx_lustre_file_system",
    "aws_fsx_ontap_file_system",
    "aws_fsx_openzfs_file_system",
    "aws_fsx_windows_file_system",
    "aws_backup_vault",
    "aws_glacier_vault",
    "aws_ecr_repository",
    "aws_kms_key",
    "aws_kms_replica_key",
    "aws_secretsmanager_secret",
    "aws_route53_zone",
    "aws_cognito_user_pool",
    "aws_eks_cluster",
    "aws_organizations_account",
    # Google Cloud
    "google_sql_database_instance",
    "google_sql_database",
    "google_alloydb_cluster",
    "google_spanner_instance",
    "google_spanner_database",
    "google_bigtable_instance",
    "google_bigtable_table",
    "google_bigquery_dataset",
    "google_bigquery_table",
    "google_firestore_database",
    "google_redis_instance",
    "google_memcache_instance",
    "google_filestore_instance",
    "google_storage_bucket",
    "google_compute_disk",
    "google_compute_region_disk",
    "google_kms_key_ring",
    "google_kms_crypto_key",
    "google_secret_manager_secret",
    "google_dns_managed_zone",
    "google_container_cluster",
    "google_pubsub_topic",
    "google_project",
    # Azure
    "azurerm_resource_group",
    "azurerm_mssql_server",
    "azurerm_mssql_database",
    "azurerm_mssql_managed_instance",
    "azurerm_postgresql_server",
    "azurerm_postgresql_flexible_server",
    "azurerm_mysql_flexible_server",
    "azurerm_cosmosdb_account",
    "azurerm_redis_cache",
    "azurerm_storage_account",
    "azurerm_storage_container",
    "azurerm_managed_disk",
    "azurerm_key_vault",
    "azurerm_key_vault_key",
    "azurerm_dns_zone",
    "azurerm_private_dns_zone",
    "azurerm_kubernetes_cluster",
    "azurerm_servicebus_namespace",
    "azurerm_eventhub_namespace",
    # Others with state
    "kubernetes_persistent_volume",
    "kubernetes_persistent_volume_claim",
    "kubernetes_persistent_volume_claim_v1",
    "kubernetes_persistent_volume_v1",
    "kubernetes_namespace",
    "kubernetes_namespace_v1",
    "cloudflare_zone",
    "digitalocean_database_cluster",
    "digitalocean_volume",
    "github_repository",
    "vault_mount",
    "tfe_workspace",
)

# GitHub accounts that coding agents act as. A login ending in `[bot]` or of type Bot is an
# agent whatever this list says; the list catches agents that use ordinary-looking logins.
AGENT_LOGINS = (
    "Copilot",
    "copilot-swe-agent",
    "copilot-swe-agent[bot]",
    "github-copilot[bot]",
    "claude",
    "claude[bot]",
    "anthropic-claude[bot]",
    "chatgpt-codex-connector",
    "chatgpt-codex-connector[bot]",
    "codex[bot]",
    "cursor",
    "cursor[bot]",
    "cursoragent",
    "devin-ai-integration",
    "devin-ai-integration[bot]",
    "amazon-q-developer",
    "amazon-q-developer[bot]",
    "kiro-agent",
    "kiro[bot]",
    "google-labs-jules",
    "google-labs-jules[bot]",
    "gemini-code-assist[bot]",
    "sweep-ai",
    "sweep-ai[bot]",
    "openhands-agent",
    "openhands[bot]",
    "all-hands-bot",
    "codegen-sh[bot]",
    "factory-droid[bot]",
    "tembo-io[bot]",
)

# Co-author trailers agents add. Matched case-insensitively against `Name <email>` as globs.
AGENT_TRAILERS = (
    "Claude <noreply@anthropic.com>",
    "* <noreply@anthropic.com>",
    "Copilot <*>",
    "copilot-swe-agent*",
    "Cursor Agent <cursoragent@cursor.com>",
    "* <cursoragent@cursor.com>",
    "Codex <*>",
    "* <codex@openai.com>",
    "Devin AI <*>",
    "*devin-ai-integration*",
    "aider *",
    "* <noreply@aider.chat>",
    "* <aider@aider.chat>",
    "openhands <openhands@all-hands.dev>",
    "* <openhands@all-hands.dev>",
    "google-labs-jules*",
    "Jules <*>",
    "Amazon Q*",
    "Kiro <*>",
    "* <*[bot]@users.noreply.github.com>",
)

AGENT_BRANCH_PREFIXES = (
    "copilot/",
    "claude/",
    "claude-code/",
    "codex/",
    "cursor/",
    "devin/",
    "jules/",
    "openhands/",
    "sweep/",
    "aider/",
    "amazon-q/",
    "q-dev/",
    "kiro/",
    "agent/",
)

AGENT_LABELS = ("ai-generated", "ai-agent", "agent", "copilot", "claude", "codex", "devin")

AGENT_BODY_MARKERS = (
    "Generated with [Claude Code]",
    "Generated with Claude Code",
    "Co-Authored-By: Claude",
    "Created by Copilot",
    "chatgpt.com/codex",
    "cursor.com/agents",
    "app.devin.ai/sessions",
    "jules.google.com",
    "Generated by OpenHands",
    "<!-- ai-agent -->",
)

# Paths that hold the rules themselves: in an agent-authored PR, touching them is gated.
GATE_PATHS = (
    ".github/workflows/**",
    ".github/actions/**",
    "CODEOWNERS",
    ".github/CODEOWNERS",
    "docs/CODEOWNERS",
)

POLICY_PATH = ".github/gatekeeper.yml"
ALLOWED_SIGNERS_PATH = ".github/gatekeeper/allowed_signers"
