"""Audit log export, compliance checks and reports."""
