"""Connectors read sources and yield plain records; inventory.sync writes them."""
