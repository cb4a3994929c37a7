"""Crafted identities for the rule tests: a clean baseline that fires nothing, and per rule
a change that makes its condition hold (`fire`) and one that clears it (`clear`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from inventory.models import Credential, Identity, LeakReport
from tests.factories import (
    CredentialFactory,
    EnvironmentFactory,
    IdentityFactory,
    PersonFactory,
)


def days(n: float):
    return timezone.now() + timedelta(days=n)


def clean_identity(**overrides) -> Identity:
    """An identity no rule objects to: owned, explained, used, federated, read-only."""
    owner = PersonFactory()
    values = dict(
        technical_owner=owner, business_owner=PersonFactory(), purpose="Nightly export",
        provider="aws", kind="cloud_role", auth_method="short_lived_token", privilege="read",
        zone="compute", last_used_at=days(-1), last_attested_at=days(-5),
        attributes={"trust": {"oidc_sub_restricted": True, "anyone": False}},
    )
    values.update(overrides)
    return IdentityFactory(**values)


def update(identity: Identity, **fields) -> None:
    Identity.objects.filter(pk=identity.pk).update(**fields)
    identity.refresh_from_db()


def attrs(**values) -> Callable[[Identity], None]:
    def apply(identity: Identity) -> None:
        update(identity, attributes={**identity.attributes, **values})

    return apply


def setter(**fields) -> Callable[[Identity], None]:
    return lambda identity: update(identity, **fields)


def credential(**fields) -> Callable[[Identity], None]:
    def apply(identity: Identity) -> None:
        CredentialFactory(identity=identity, **fields)

    return apply


def credentials(**fields) -> Callable[[Identity], None]:
    return lambda identity: Credential.objects.filter(identity=identity).update(**fields)


def owner_active(value: bool) -> Callable[[Identity], None]:
    def apply(identity: Identity) -> None:
        person = identity.technical_owner
        person.is_active = value
        person.save()

    return apply


def twin_in_staging(identity: Identity) -> None:
    """Another identity, in staging, holding the same certificate."""
    twin = clean_identity(environment=EnvironmentFactory(slug="staging"), kind="certificate",
                          provider="certificate", expires_at=days(200), zone="access",
                          created_at_source=days(-10))
    CredentialFactory(identity=twin, kind="certificate", fingerprint="ab" * 32,
                      external_id="serial-twin", created_at_source=days(-10),
                      expires_at=days(200))
    CredentialFactory(identity=identity, kind="certificate", fingerprint="ab" * 32,
                      external_id="serial-1", created_at_source=days(-10),
                      expires_at=days(200))


def leak(identity: Identity) -> None:
    cred = CredentialFactory(identity=identity, kind="api_key", created_at_source=days(-5),
                             expires_at=days(30))
    LeakReport.objects.create(tool="gitleaks", location="repo/app.py:3", key_id=cred.external_id,
                              credential=cred)


@dataclass
class Case:
    rule: str
    fire: Callable[[Identity], None]
    clear: Callable[[Identity], None]
    base: dict | None = None  # overrides of the clean identity for this rule


CERT = dict(kind="certificate", provider="certificate", zone="access", privilege="unknown",
            auth_method="certificate", expires_at=days(200), created_at_source=days(-30))

CASES = [
    Case("ownership.no_owner", setter(technical_owner=None, business_owner=None),
         lambda i: update(i, technical_owner=PersonFactory())),
    Case("ownership.no_purpose", setter(purpose=""), setter(purpose="Exports invoices")),
    Case("ownership.owner_left", owner_active(False), owner_active(True)),
    Case("ownership.review_overdue", setter(next_review_due=days(-1).date()),
         setter(next_review_due=days(30).date())),
    Case("lifecycle.rotation_overdue", credential(kind="access_key", created_at_source=days(-95)),
         credentials(status="inactive")),
    Case("lifecycle.no_expiry", credential(kind="token", expires_at=None,
                                           created_at_source=days(-1)),
         credentials(expires_at=days(7))),
    Case("lifecycle.expired_active", setter(expires_at=days(-1)), setter(expires_at=days(10))),
    Case("lifecycle.lifetime_exceeded",
         credential(kind="certificate", created_at_source=days(-10), expires_at=days(490)),
         credentials(expires_at=days(300)), base=CERT),
    Case("lifecycle.break_glass_open",
         setter(tags=["break-glass"], last_used_at=days(-2), last_rotated_at=days(-10)),
         setter(last_rotated_at=days(-1))),
    Case("lifecycle.deprovision_overdue", setter(deprovision_requested_at=days(-15)),
         setter(deprovision_requested_at=None)),
    Case("dormancy.dormant", setter(last_used_at=days(-100)), setter(last_used_at=days(-1))),
    Case("certs.expired", setter(expires_at=days(-1)), setter(expires_at=days(200)), base=CERT),
    Case("certs.expiring", setter(expires_at=days(10)), setter(expires_at=days(200)), base=CERT),
    Case("keys.weak", credential(kind="certificate", key_algorithm="RSA", key_size=1024,
                                 created_at_source=days(-10), expires_at=days(100)),
         credentials(key_size=4096), base=CERT),
    Case("privilege.admin", setter(privilege="admin"), setter(privilege="read")),
    Case("privilege.wildcard", attrs(policies=[{"name": "AdministratorAccess", "level": "admin"}]),
         attrs(policies=[{"name": "ReadOnlyAccess", "level": "read"}])),
    Case("privilege.unknown", setter(privilege="unknown"), setter(privilege="read")),
    Case("auth.static_secret", setter(auth_method="static_secret"),
         setter(auth_method="workload_federation")),
    Case("config.oidc_unrestricted", attrs(trust={"oidc_sub_restricted": False}),
         attrs(trust={"oidc_sub_restricted": True})),
    Case("config.anyone_can_assume", attrs(trust={"anyone": True}), attrs(trust={"anyone": False})),
    Case("config.ci_static_keys", setter(auth_method="static_secret"),
         setter(auth_method="workload_federation"), base={"name": "github-deployer"}),
    Case("thirdparty.vendor_access", setter(provider="saas"), setter(provider="aws")),
    Case("thirdparty.vendor_write", attrs(trust={"external_accounts": ["999999999999"]}),
         attrs(trust={"external_accounts": []}), base={"privilege": "write"}),
    Case("environment.multi_env", twin_in_staging,
         lambda i: Credential.objects.filter(identity=i).delete(), base=CERT),
    Case("reuse.shared", attrs(instance_profiles=["web", "batch"]),
         attrs(instance_profiles=["web"])),
    Case("human.interactive_login", setter(interactive_login=True),
         setter(interactive_login=False)),
    Case("human.console_used", credential(kind="password", last_used_at=days(-3),
                                          created_at_source=days(-3)),
         lambda i: Credential.objects.filter(identity=i, kind="password").delete()),
    Case("human.human_traits", attrs(mfa_devices=1), attrs(mfa_devices=0)),
    Case("zones.cross_zone", attrs(policies=[{"name": "AmazonS3FullAccess", "level": "write"}]),
         attrs(policies=[])),
    Case("leak.scanner_match", leak, credentials(status="inactive")),
]
