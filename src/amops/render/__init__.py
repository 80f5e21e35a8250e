"""Procedures rendered as Markdown runbooks: pure functions, deterministic output."""
