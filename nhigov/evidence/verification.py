"""Verify the audit-chain segment of a period, with whichever verifier nhigov.lib.audit has.

The segmented verifier (`verify_chain(start_id, end_id)`, with signed checkpoints) checks
the period's events and their link to the event before; the older verifier walks the
whole chain, which covers the segment too. Either way the result goes into the pack as
audit_verification.json and into the summary.
"""

from __future__ import annotations

import inspect

from django.db.models import Count, Max, Min

from nhigov.evidence.files import Period, audit_in
from nhigov.lib import audit


def verify_segment(period: Period) -> dict:
    """JSON-ready verification result for the period's events."""
    bounds = audit_in(period).aggregate(first=Min("id"), last=Max("id"), events=Count("id"))
    segment = {"period_start": period.start.isoformat(), "period_end": period.end.isoformat(),
               "first_event_id": bounds["first"], "last_event_id": bounds["last"],
               "events_in_period": bounds["events"]}
    if "start_id" in inspect.signature(audit.verify_chain).parameters:
        result = _segment(bounds)
    else:
        result = _whole_chain()
    return {**segment, **result}


def _segment(bounds: dict) -> dict:
    if bounds["first"] is None:
        return {"scope": "segment", "ok": True, "checked": 0, "first_bad_id": None,
                "reason": ""}
    result = audit.verify_chain(start_id=bounds["first"], end_id=bounds["last"])
    return {"scope": "segment", **result.as_dict()}


def _whole_chain() -> dict:
    report = audit.verify_chain()
    return {"scope": "whole chain", "ok": report.ok, "checked": report.checked,
            "first_bad_id": report.first_bad_id, "reason": report.problem}
