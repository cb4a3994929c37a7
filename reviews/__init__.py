"""Quarterly attestation: campaigns, owner email links, reminders, escalation, decisions.

campaigns.py opens (set-based) and closes campaigns; tokens.py makes and checks emailed
links; decisions.py is what an answer does to the register; mailing.py queues, claims and
sends emails (emails.py renders them); remediation.py closes the work decisions leave;
progress.py counts for the pages and API; tasks.py holds the thin Celery wrappers.
"""
