"""Auditor evidence packs: a streamed ZIP per period and framework (see builder)."""
