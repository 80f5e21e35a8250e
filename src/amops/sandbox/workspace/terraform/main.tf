# The Access Management platform's root module, as the sandbox keeps it.
#
# Provider-less on purpose: the sandbox's resources are provisioned by `amops sandbox up`, and
# no provider can be downloaded here. This module carries the names and URLs that `amops deploy`
# reads from `terraform output -json`, computed from the environment's var file
# (terraform/env/<env>.tfvars), exactly as the real module's outputs would give them.

terraform {
  required_version = ">= 1.0.0"
}

variable "env" {
  type = string
}

variable "account_id" {
  type = string
}

variable "region" {
  type    = string
  default = "af-south-1"
}

variable "dr_region" {
  type    = string
  default = ""
}

variable "api_url" {
  type = string
}

variable "dr_api_url" {
  type    = string
  default = ""
}

variable "functions" {
  type    = list(string)
  default = ["authorizer", "teams", "permissions", "invitations", "audit-writer", "health"]
}

locals {
  prefix = "am-${var.env}"
}

output "function_names" {
  value = { for f in var.functions : f => "${local.prefix}-${f}" }
}

output "artifacts_bucket" {
  value = "${local.prefix}-artifacts-${var.account_id}"
}

output "tables" {
  value = { for t in ["teams", "permissions", "invitations", "audit"] : t => "${local.prefix}-${t}" }
}

output "api_name" {
  value = "${local.prefix}-api"
}

output "api_urls" {
  value = merge({ (var.region) = var.api_url }, var.dr_region == "" ? {} : { (var.dr_region) = var.dr_api_url })
}
