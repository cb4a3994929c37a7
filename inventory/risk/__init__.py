"""Risk and lifecycle policies: rules (one module per family in `rules/`), the policy
document, set-based evaluation, findings, the dashboard's metrics and alerts."""
