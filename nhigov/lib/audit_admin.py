"""Django admin changes in the audit chain.

Admins can edit identities, credentials (inline), sources, people, teams, users and groups
in Django admin. Django's own LogEntry is an ordinary table anyone with database access
can rewrite, so every add, change and delete made there is also appended to the chain,
with the admin, the request id, the fields' values before and after, and Django's change
message as the reason. `NhigovAdminSite.register` wraps every ModelAdmin in this mixin, so
a model registered later is covered without code of its own.

Values of fields that hold secrets or their derivatives (password hashes, token hashes,
HMACs) are never copied: the event says such a field changed, not what it holds.
"""

from __future__ import annotations

import json
import re

from django.contrib.admin import ModelAdmin
from django.contrib.admin.models import LogEntry

from nhigov.lib.audit import Actor, Change, jsonable, record, record_many

REDACTED = "[redacted]"
# `data`: allauth's Authenticator (the TOTP and recovery-code seeds); `settings`: allauth's
# SocialApp (some providers keep a private key there, e.g. Apple's certificate_key).
_SECRET = re.compile(r"password|secret|(^|_)token($|_)|(^|_)hash$|_hmac$|^key$|^digest$"
                     r"|^data$|^settings$")
_STASH = "_nhigov_audit_before"


def snapshot(obj) -> dict:
    """The object's column values, JSON-safe, with secret-bearing fields redacted."""
    data = {}
    for field in obj._meta.concrete_fields:
        value = field.value_from_object(obj)
        data[field.attname] = REDACTED if _SECRET.search(field.attname) else jsonable(value)
    return data


def _object_id(obj) -> str:
    return str(getattr(obj, "code", "") or obj.pk)


def _message_text(message) -> str:
    """Django's change message (a list of dicts, or text) as the sentence admin shows."""
    raw = json.dumps(message) if isinstance(message, list) else str(message or "")
    text = LogEntry(change_message=raw).get_change_message()
    return f"Django admin: {text}" if text else "Django admin"


class AuditedAdminMixin:
    """Adds an audit event to each LogEntry a ModelAdmin writes."""

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:  # the state before the edit, for the change's "before"
            request.__dict__.setdefault(_STASH, {})[(obj._meta.label, obj.pk)] = snapshot(obj)
        return obj

    def log_addition(self, request, obj, message):
        entry = super().log_addition(request, obj, message)
        self._audit(request, "create", obj, {}, snapshot(obj), message)
        return entry

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        after = snapshot(obj)
        before = request.__dict__.get(_STASH, {}).pop((obj._meta.label, obj.pk), None)
        if before is not None:  # only what changed (list_editable has no "before": all)
            changed = [k for k in after if before.get(k) != after[k]]
            before, after = {k: before.get(k) for k in changed}, {k: after[k] for k in changed}
        self._audit(request, "update", obj, before or {}, after, message)
        return entry

    def log_deletions(self, request, queryset):
        entries = super().log_deletions(request, queryset)
        actor = Actor.for_request(request)
        record_many(actor, (
            Change(f"{obj._meta.model_name}.delete", obj._meta.model_name, _object_id(obj),
                   str(obj)[:255], snapshot(obj), {}) for obj in queryset),
            reason="Django admin: deleted")
        return entries

    def _audit(self, request, verb: str, obj, before: dict, after: dict, message) -> None:
        name = obj._meta.model_name
        record(Actor.for_request(request),
               Change(f"{name}.{verb}", name, _object_id(obj), str(obj)[:255], before, after),
               reason=_message_text(message))


def audited(admin_class: type[ModelAdmin] | None) -> type[ModelAdmin]:
    """`admin_class` with AuditedAdminMixin in front (ModelAdmin when None)."""
    base = admin_class or ModelAdmin
    if issubclass(base, AuditedAdminMixin):
        return base
    return type(f"Audited{base.__name__}", (AuditedAdminMixin, base), {})
