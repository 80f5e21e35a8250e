"""Terraform, through python-terraform."""
