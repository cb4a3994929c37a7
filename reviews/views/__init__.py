"""Review pages: owner link pages (no login), campaign pages, My reviews, remediation."""
