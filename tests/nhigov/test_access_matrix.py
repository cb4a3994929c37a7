"""Every URL the resolver knows x every role x objects inside and outside the role's scope.

The URL list is not written here: it is walked from the resolver, with the HTTP methods
each view accepts read from the view itself. Every URL name must have a row in RULES
(Django admin and allauth's pages are handled as families, see below), and every method a
view accepts must have an expectation, so a page or endpoint added later fails this test,
by name, until someone decides who may use it. The API is walked twice more, with
personal read and write tokens.

Outcomes: a role allowed a method gets anything but 401/403/404/405 and no server error
(a 400 for an empty form is allowed: the request got past access control); a role not
allowed gets 403, before any object is looked up, so it reveals nothing; an owner asking
for an object outside their scope, with a method their role allows, gets 404, as if it did
not exist. Every 403 and scoped 404 is logged to `nhigov.security` (nhigov.lib.denials),
and no response to an owner contains anything of an identity they do not own.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from inventory.models import Finding, SyncRun
from inventory.models.risk import DailySnapshot, PolicyVersion
from inventory.risk import policy as policies
from nhigov.lib.audit import Actor
from nhigov.lib.tokens import issue as issue_token
from reviews.campaigns import open_campaign
from reviews.models import Attestation, Remediation
from tests.factories import (
    CredentialFactory,
    IdentityFactory,
    PersonFactory,
    SourceFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ROLES = ("admin", "analyst", "auditor", "owner", "norole")
ALL = frozenset({"admin", "analyst", "auditor", "owner"})
READERS = frozenset({"admin", "analyst", "auditor"})
EDITORS = frozenset({"admin", "analyst"})
ADMINS = frozenset({"admin"})
EVERYONE = ALL | {"norole"}  # pages that need a login but no role (self-service, redirects)
NOBODY: frozenset = frozenset()
OWN = frozenset({"owner"})  # scoped to the identities the owner owns
METHODS = ("get", "post", "put", "patch", "delete")
DENIED = {401, 403, 404, 405}
LOCAL_CACHE = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                           "LOCATION": "nhigov-access-matrix"}}


@dataclass(frozen=True)
class Rule:
    """Who may use one URL name, per method. `obj` names the objects that fill the URL
    (see KWARGS); `scoped`: the roles for which the object has an inside and an outside
    (owners and identities: the one they own, and another; API tokens: every role, their
    own and another user's). Outside their scope those roles get 404. Methods left None
    are ones the view must not accept."""

    get: frozenset | None = None
    post: frozenset | None = None
    put: frozenset | None = None
    patch: frozenset | None = None
    delete: frozenset | None = None
    obj: str = ""
    scoped: frozenset = frozenset()
    public: bool = False  # reachable without a login (login pages, emailed owner links)
    anonymous: bool = False  # and answered to anonymous visitors too (health check)

    def allowed(self, method: str) -> frozenset | None:
        return getattr(self, method)


def R(**kw) -> Rule:  # noqa: N802 - reads as a table
    return Rule(**kw)


RULES: dict[str, Rule] = {
    "home": R(get=EVERYONE),
    # For load balancers: says only whether the database answers.
    "healthz": R(get=EVERYONE, public=True, anonymous=True),
    # --- register ---------------------------------------------------------------------
    "inventory:identity_list": R(get=ALL),
    "inventory:identity_export": R(get=ALL),
    "inventory:identity_bulk": R(post=EDITORS),
    "inventory:identity_detail": R(get=ALL, obj="identity", scoped=OWN),
    "inventory:identity_edit": R(get=EDITORS, post=EDITORS, put=EDITORS, obj="identity",
                                 scoped=OWN),
    "inventory:source_list": R(get=READERS),
    "inventory:source_create": R(get=ADMINS, post=ADMINS, put=ADMINS),
    "inventory:source_detail": R(get=READERS, obj="source"),
    "inventory:source_edit": R(get=ADMINS, post=ADMINS, put=ADMINS, obj="source"),
    "inventory:source_run": R(post=EDITORS, obj="source"),
    "inventory:source_test": R(get=EDITORS, post=EDITORS, obj="source"),
    "inventory:source_held_run": R(post=EDITORS, obj="run"),
    "inventory:import": R(get=EDITORS, post=EDITORS, put=EDITORS),
    # --- risk -------------------------------------------------------------------------
    "risk:dashboard": R(get=READERS),
    "risk:finding_list": R(get=ALL),
    "risk:finding_accept": R(post=EDITORS, obj="finding", scoped=OWN),
    "risk:finding_resolve": R(post=EDITORS, obj="finding", scoped=OWN),
    "risk:finding_reopen": R(post=EDITORS, obj="finding", scoped=OWN),
    "risk:evaluate": R(post=EDITORS),
    "risk:rule_list": R(get=ALL),  # the rule catalogue: no register data
    "risk:policy": R(get=READERS),
    "risk:policy_version": R(get=READERS, obj="policy"),
    "risk:policy_edit": R(get=ADMINS, post=ADMINS, put=ADMINS),
    "risk:alert_list": R(get=READERS),
    "risk:alert_retry": R(post=EDITORS),
    "risk:leak_import": R(get=EDITORS, post=EDITORS, put=EDITORS),
    # --- ownership --------------------------------------------------------------------
    "ownership:team_list": R(get=READERS),
    "ownership:team_detail": R(get=READERS, obj="team"),
    "ownership:person_list": R(get=READERS),
    "ownership:person_detail": R(get=READERS, obj="person"),
    # --- reviews ----------------------------------------------------------------------
    # Owner links authenticate by their token, not by role: a made-up token is refused
    # (404) to everyone, signed in or not.
    "reviews:link": R(get=NOBODY, post=NOBODY, obj="link", public=True),
    "reviews:link_task": R(get=NOBODY, post=NOBODY, obj="link_task", public=True),
    "reviews:mine": R(get=ALL),
    # A task is its reviewer's (the owner's own) to answer; readers may look at any.
    "reviews:task": R(get=ALL, post=frozenset({"owner"}), obj="task", scoped=OWN),
    "reviews:campaign_list": R(get=READERS),
    "reviews:campaign_create": R(get=EDITORS, post=EDITORS, put=EDITORS),
    "reviews:campaign_detail": R(get=READERS, obj="campaign"),
    "reviews:campaign_tasks": R(get=READERS, obj="campaign"),
    "reviews:campaign_resend": R(post=EDITORS, obj="campaign"),
    "reviews:campaign_retry": R(post=EDITORS, obj="campaign"),
    "reviews:campaign_close": R(post=EDITORS, obj="campaign"),
    "reviews:remediation_list": R(get=READERS),
    "reviews:remediation_resolve": R(post=EDITORS, obj="remediation"),
    # --- audit log: the whole log for readers; an identity's timeline is scoped ---------
    "audit:log": R(get=READERS),
    "audit:export": R(get=READERS),
    "audit:timeline": R(get=ALL, obj="identity", scoped=OWN),
    # --- personal API tokens: any role, each user's own tokens only ---------------------
    "account_tokens": R(get=ALL, post=ALL),
    "account_token_revoke": R(post=ALL, obj="token", scoped=ALL),
    # --- evidence: building a pack changes nothing, so auditors POST too ----------------
    "evidence:pack": R(get=READERS, post=READERS, put=READERS),
    # --- API --------------------------------------------------------------------------
    "api-root": R(get=ALL),
    "api-schema": R(get=ALL),
    "api-docs": R(get=ALL),
    "api-import": R(post=EDITORS),
    "api-evidence-pack": R(get=READERS, post=READERS),
    "api-identity-list": R(get=ALL),
    "api-identity-detail": R(get=ALL, patch=EDITORS, obj="identity", scoped=OWN),
    "api-credential-list": R(get=ALL),
    "api-credential-detail": R(get=ALL, obj="credential", scoped=OWN),
    "api-person-list": R(get=READERS, post=EDITORS),
    "api-person-detail": R(get=READERS, patch=EDITORS, obj="person"),
    "api-team-list": R(get=READERS, post=EDITORS),
    "api-team-detail": R(get=READERS, patch=EDITORS, obj="team"),
    "api-source-list": R(get=READERS, post=ADMINS),
    "api-source-detail": R(get=READERS, patch=ADMINS, delete=ADMINS, obj="source"),
    "api-source-sync": R(post=EDITORS, obj="source"),
    "api-source-test": R(post=EDITORS, obj="source"),
    "api-syncrun-list": R(get=READERS),
    "api-syncrun-detail": R(get=READERS, obj="syncrun"),
    "api-finding-list": R(get=ALL),
    "api-finding-detail": R(get=ALL, obj="finding", scoped=OWN),
    "api-finding-accept": R(post=EDITORS, obj="finding", scoped=OWN),
    "api-finding-reopen": R(post=EDITORS, obj="finding", scoped=OWN),
    "api-finding-resolve": R(post=EDITORS, obj="finding", scoped=OWN),
    "api-risk-rule-list": R(get=ALL),
    "api-policy-version-list": R(get=READERS, post=ADMINS),
    "api-policy-version-detail": R(get=READERS, obj="policy"),
    "api-risk-snapshot-list": R(get=READERS),
    "api-risk-snapshot-detail": R(get=READERS, obj="snapshot"),
    "api-campaign-list": R(get=READERS, post=EDITORS),
    "api-campaign-detail": R(get=READERS, obj="campaign"),
    "api-campaign-close": R(post=EDITORS, obj="campaign"),
    "api-campaign-progress": R(get=READERS, obj="campaign"),
    "api-campaign-resend": R(post=EDITORS, obj="campaign"),
    "api-attestation-list": R(get=ALL),
    "api-attestation-detail": R(get=ALL, obj="task", scoped=OWN),
    "api-attestation-decide": R(post=frozenset({"owner"}), obj="task", scoped=OWN),
}

# Django's form views accept PUT as POST (ProcessFormView.put), so the table lists it.

# Two families treated as one, deliberately:
# - admin: Django's admin site (users, groups, every model) is for admins only; it sends
#   anyone else to its own login page (302), so it is probed at a few URLs, not per model.
# - django-allauth's views under /accounts/ (login, logout, password, email, MFA, SSO):
#   they act only on the signed-in user, need no role, and their forms check their own
#   input; test_it_serves_account_pages_to_any_signed_in_user checks "no refusal, no
#   server error, no leak" for each, signed in with every role.
# Anything else, including the portal's own pages under /account/, needs a row in RULES.


def _module(pattern: URLPattern) -> str:
    callback = pattern.callback
    cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    return (cls or callback).__module__


def _deliberate(key: str, route: str, module: str) -> bool:
    return (key.startswith("admin:") or route.startswith("admin/")
            or module.startswith("allauth.")
            or (route.startswith("accounts/") and module.startswith("django.views.")))


def _methods(pattern: URLPattern) -> set[str]:
    """The methods a view really accepts (DRF actions, or the class's handlers)."""
    callback = pattern.callback
    cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    names = set(getattr(cls, "http_method_names", METHODS))
    actions = getattr(callback, "actions", None)
    if actions:
        return {m for m in actions if m in names and m in METHODS}
    if cls is None:
        return {"get"}
    return {m for m in METHODS if m in names and hasattr(cls, m)}


def walk(patterns=None, namespace: str = "", prefix: str = "") -> dict[str, set[str]]:
    """{url name (or route, if unnamed): methods} for every pattern the resolver knows,
    except the deliberate families above."""
    found: dict[str, set[str]] = {}
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            ns = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
            for key, methods in walk(pattern.url_patterns, ns, route).items():
                found.setdefault(key, set()).update(methods)
            continue
        key = namespace + pattern.name if pattern.name else route
        if not _deliberate(key, route, _module(pattern)):
            found.setdefault(key, set()).update(_methods(pattern))
    return found


def test_it_has_a_rule_for_every_url_and_method():
    missing, wrong = [], []
    for name, methods in sorted(walk().items()):
        rule = RULES.get(name)
        if rule is None:
            missing.append(f"{name} {sorted(methods)}")
            continue
        declared = {m for m in METHODS if rule.allowed(m) is not None}
        if declared != methods:
            wrong.append(f"{name}: view accepts {sorted(methods)}, table has {sorted(declared)}")
    stale = sorted(set(RULES) - set(walk()))
    assert not missing, "URLs with no access rule:\n" + "\n".join(missing)
    assert not wrong, "Methods out of step with the views:\n" + "\n".join(wrong)
    assert not stale, f"Rules for URLs that no longer exist: {stale}"


# --- the world: one of everything, inside and outside the owner's scope ---------------


MARKS = ("svc-theirs-9c1d", "ext-theirs-9c1d", "AKIATHEIRS9C1D00")


@pytest.fixture
def world(users, owner_person, eager_celery, settings):
    settings.CACHES = LOCAL_CACHE  # rate limits: a private cache, never a shared Redis
    cache.clear()
    users["norole"] = UserFactory(username="norole@example.test")
    team = TeamFactory(name="Matrix team", slug="matrix-team")
    other = PersonFactory(email="other.owner@example.test", name="Other Owner", team=team)
    source = SourceFactory(name="matrix-certs", kind="certificates",
                           config={"directories": ["/nonexistent/nhigov-matrix"]})
    mine = IdentityFactory(source=source, name="svc-mine-7f3a", external_id="ext-mine-7f3a",
                           technical_owner=owner_person, team=team)
    theirs = IdentityFactory(source=source, name=MARKS[0], external_id=MARKS[1],
                             technical_owner=other, team=team)
    CredentialFactory(identity=mine, external_id="AKIAMINE7F3A0000")
    CredentialFactory(identity=theirs, external_id=MARKS[2])
    now = timezone.now()
    findings = {i: Finding.objects.create(
        identity=i, rule="NHI7-rotation-overdue", severity="high", first_detected_at=now,
        last_detected_at=now, opened_at=now) for i in (mine, theirs)}
    campaign = open_campaign(name="Matrix review", scope="",
                             due_date=(now + timedelta(days=14)).date(),
                             actor=Actor.system("test"))
    tasks = {i: Attestation.objects.get(campaign=campaign, identity=i) for i in (mine, theirs)}
    remediation = Remediation.objects.create(kind="change", identity=theirs,
                                             requested_by="matrix")
    run = SyncRun.objects.create(source=source, status="held")
    version = PolicyVersion.objects.create(number=1, document=policies.default_document(),
                                           author_label="matrix", reason="matrix")
    DailySnapshot.objects.create(day=now.date(), metrics={}, taken_at=now)
    users["stranger"] = UserFactory(username="stranger@example.test", role="analyst")
    issued = {(role, scope): issue_token(users[role], f"matrix {role} {scope}", scope,
                                         now + timedelta(days=7), Actor.system("test"))
              for role in (*ROLES, "stranger") for scope in ("read", "write")}
    tokens = {role: issued[role, "read"][0] for role in (*ROLES, "stranger")}
    bearer = {key: raw for key, (_token, raw) in issued.items()}
    return {"tokens": tokens, "bearer": bearer,
        "mine": mine, "theirs": theirs, "source": source, "team": team, "person": other,
        "findings": findings, "campaign": campaign, "tasks": tasks, "run": run,
        "remediation": remediation, "policy": version, "users": users,
    }


KWARGS = {
    "identity": lambda w, i, r: {"code": i.code},
    "credential": lambda w, i, r: {"code": i.credentials.get().code},
    "finding": lambda w, i, r: {"code": w["findings"][i].code},
    "task": lambda w, i, r: {"code": w["tasks"][i].code},
    "source": lambda w, i, r: {"code": w["source"].code},
    "run": lambda w, i, r: {"code": w["source"].code, "run_code": w["run"].code},
    "syncrun": lambda w, i, r: {"code": w["run"].code},
    "team": lambda w, i, r: {"code": w["team"].code},
    "person": lambda w, i, r: {"code": w["person"].code},
    "campaign": lambda w, i, r: {"code": w["campaign"].code},
    "remediation": lambda w, i, r: {"code": w["remediation"].code},
    "policy": lambda w, i, r: {"number": w["policy"].number},
    "snapshot": lambda w, i, r: {"day": timezone.now().date().isoformat()},
    "token": lambda w, i, r: {"code": w["tokens"][r if i is w["mine"] else "stranger"].code},
    "link": lambda w, i, r: {"token": "made-up-token-" + "x" * 30},
    "link_task": lambda w, i, r: {"token": "made-up-token-" + "x" * 30,
                               "task": w["tasks"][i].code},
}


def _reverse(name: str, kwargs: dict) -> str:
    if kwargs.get("run_code"):  # the held-run page takes the source's code as `code`
        return reverse(name, kwargs=kwargs)
    if name.startswith("api-") and "code" in kwargs:
        kwargs = {**kwargs, "code": str(kwargs["code"])}
    return reverse(name, kwargs=kwargs)


def cases(world, role: str) -> list[tuple[str, str, str, bool]]:
    """(url name, method, url, inside the role's scope) for every rule."""
    out = []
    for name, rule in sorted(RULES.items()):
        targets = [(world["mine"], True)]
        if rule.scoped:
            targets.append((world["theirs"], False))
        for identity, inside in targets:
            kwargs = KWARGS[rule.obj](world, identity, role) if rule.obj else {}
            url = _reverse(name, kwargs)
            for method in METHODS:
                if rule.allowed(method) is not None:
                    out.append((name, method, url, inside))
    return out


def expected(rule: Rule, method: str, role: str, inside: bool) -> str:
    allowed = rule.allowed(method)
    if role not in allowed:
        return "404" if rule.public else "403"
    if role in rule.scoped and not inside:
        return "404"
    return "allowed"


def body_of(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def send(client: Client, method: str, url: str):
    if method in ("patch", "put", "delete"):
        return getattr(client, method)(url, data="{}", content_type="application/json")
    return getattr(client, method)(url)


# GETs that answer with a redirect when allowed; any other allowed GET must not redirect,
# so a refusal by redirect (to a login or MFA page) cannot pass for access.
REDIRECTING_GETS = {"home", "inventory:source_test"}


def outcome(status: int, name: str = "", method: str = "") -> str:
    if status in (403, 404):
        return str(status)
    if status in DENIED or status >= 500:
        return f"broken {status}"
    if method == "get" and 300 <= status < 400 and name not in REDIRECTING_GETS:
        return f"redirected {status}"
    return "allowed"


def denial_logged(caplog, method: str, status: int) -> bool:
    return any(getattr(r, "denial", {}).get("status") == status
               and r.denial["method"] == method.upper()
               for r in caplog.records if r.name == "nhigov.security")


@pytest.mark.parametrize("role", ROLES)
def test_it_gives_each_role_exactly_its_rights(role, world, caplog):
    client = Client()
    client.force_login(world["users"][role])
    wrong, unlogged, logged_allowed, leaks = [], [], [], []
    for name, method, url, inside in cases(world, role):
        rule = RULES[name]
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="nhigov.security"):
            response = send(client, method, url)
        got = outcome(response.status_code, name, method)
        want = expected(rule, method, role, inside)
        where = f"{role} {method.upper()} {url} ({name}, {'in' if inside else 'out of'} scope)"
        if got != want:
            wrong.append(f"{where}: {response.status_code}, expected {want}")
        if got in ("403", "404") and not denial_logged(caplog, method, response.status_code):
            unlogged.append(where)
        if got == "allowed" and denial_logged(caplog, method, response.status_code):
            logged_allowed.append(where)
        if role in ("owner", "norole") and any(m in body_of(response) for m in MARKS):
            leaks.append(where)
        if role in ("owner", "norole") and method == "get" and not rule.public:
            # OPTIONS describes forms too (links are skipped: each try counts against them)
            options = client.options(url)
            if options.status_code >= 500 or any(m in body_of(options) for m in MARKS):
                leaks.append(f"{where} OPTIONS {options.status_code}")
    assert not wrong, f"{len(wrong)} wrong outcomes:\n" + "\n".join(wrong)
    assert not unlogged, "denials not logged:\n" + "\n".join(unlogged)
    assert not logged_allowed, "allowed requests logged as denials:\n" + "\n".join(
        logged_allowed)
    assert not leaks, "out-of-scope identity shown:\n" + "\n".join(leaks)


# Search terms are parts of the marks, never a whole one: pages echo the search box.
SEARCHES = ({"q": "theirs"}, {"search": "theirs"}, {"name": "theirs-9c1d"},
            {"external_id": "theirs-9c1d"}, {"q": "9c1d"}, {"identity": "{theirs}"},
            {"status": ["open", "accepted", "resolved"]}, {"format": "json"})


@pytest.mark.parametrize("scope", ["read", "write"])
@pytest.mark.parametrize("role", ["admin", "analyst", "auditor", "owner"])
def test_it_gives_api_tokens_the_same_rights_within_their_scope(role, scope, world, caplog):
    """The API again, with a personal token instead of a session: the same table, except
    that a read-scoped token is refused every write, whoever holds it."""
    client = Client(HTTP_AUTHORIZATION=f"Bearer {world['bearer'][role, scope]}")
    wrong, unlogged, leaks = [], [], []
    for name, method, url, inside in cases(world, role):
        if not name.startswith("api-"):
            continue
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="nhigov.security"):
            response = send(client, method, url)
        want = expected(RULES[name], method, role, inside)
        if scope == "read" and method != "get":
            want = "403"
        got = outcome(response.status_code, name, method)
        where = f"{role} {scope}-token {method.upper()} {url} ({'in' if inside else 'out of'})"
        if got != want:
            wrong.append(f"{where}: {response.status_code}, expected {want}")
        if got in ("403", "404") and not denial_logged(caplog, method, response.status_code):
            unlogged.append(where)
        if role == "owner" and any(m in body_of(response) for m in MARKS):
            leaks.append(where)
    assert not wrong, f"{len(wrong)} wrong outcomes:\n" + "\n".join(wrong)
    assert not unlogged, "denials not logged:\n" + "\n".join(unlogged)
    assert not leaks, "out-of-scope identity shown:\n" + "\n".join(leaks)


# Each list also as an HTMX partial and as DRF's browsable HTML (its forms list choices).
VARIANTS = ({}, {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "results"},
            {"HTTP_ACCEPT": "text/html"})


def test_it_leaks_nothing_to_owners_in_lists_exports_and_searches(world, client_for):
    """Every list the owner may read, searched and filtered for the other identity."""
    client = client_for("owner")
    lists = [name for name, rule in RULES.items()
             if not rule.obj and rule.get is not None and "owner" in rule.get]
    assert "inventory:identity_export" in lists and "api-identity-list" in lists
    leaks, seen_own = [], set()
    for name in lists:
        for query, headers in ((q, h) for q in SEARCHES for h in VARIANTS):
            params = {k: (v.format(theirs=world["theirs"].code) if isinstance(v, str) else v)
                      for k, v in query.items()}
            response = client.get(reverse(name), params, **headers)
            body = body_of(response)
            if any(m in body for m in MARKS):
                leaks.append(f"{name} {params} {headers}")
            if "svc-mine-7f3a" in body:
                seen_own.add(name)
    assert not leaks, "out-of-scope identity shown to its non-owner:\n" + "\n".join(leaks)
    # The checks above mean something: the owner's own identity does show where it should.
    assert {"inventory:identity_list", "inventory:identity_export", "api-identity-list",
            "risk:finding_list"} <= seen_own


def test_it_refuses_anonymous_visitors_everywhere_but_public_pages(world):
    client = Client()
    for name, method, url, _inside in cases(world, "norole"):
        rule = RULES[name]
        status = send(client, method, url).status_code
        if rule.anonymous:
            assert status == 200, f"anonymous {method} {url}: {status}"
        elif rule.public:  # made-up tokens: refused, then rate-limited
            assert status in (404, 429), f"anonymous {method} {url}: {status}"
        elif name.startswith("api-"):
            assert status in (401, 403), f"anonymous {method} {url}: {status}"
        else:
            assert status == 302, f"anonymous {method} {url}: {status}"


def _account_urls(patterns=None, namespace: str = "", prefix: str = "") -> list[str]:
    """allauth's pages that take no argument (those taking an emailed key or a provider
    are allauth's own tests' business)."""
    urls = []
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            urls += _account_urls(pattern.url_patterns, namespace, route)
        elif pattern.name and _module(pattern).startswith("allauth."):
            with contextlib.suppress(NoReverseMatch):
                urls.append(reverse(pattern.name))
    return sorted(set(urls))


@pytest.mark.parametrize("role", ROLES)
def test_it_serves_account_pages_to_any_signed_in_user(role, world):
    for url in _account_urls():
        if "logout" in url:
            continue
        client = Client()
        client.force_login(world["users"][role])
        response = client.get(url)
        # (allauth's SSO error page answers 401 by design: an error page, not a refusal)
        assert response.status_code < 500 and response.status_code != 403, (
            f"{role} GET {url}: {response.status_code}")
        assert not any(m in body_of(response) for m in MARKS), url


def test_it_shows_django_admin_to_admins_only(world, caplog):
    """Users and roles are administered here: admins only; the refusal is logged too."""
    urls = [reverse("admin:index"), reverse("admin:auth_user_changelist"),
            reverse("admin:auth_user_change", args=[world["users"]["owner"].pk])]
    for role in ROLES:
        client = Client()
        client.force_login(world["users"][role])
        for url in urls:
            caplog.clear()
            with caplog.at_level(logging.WARNING, logger="nhigov.security"):
                status = client.get(url).status_code
            assert status == (200 if role == "admin" else 302), f"{role} {url}: {status}"
            assert denial_logged(caplog, "get", 302) == (role != "admin"), f"{role} {url}"


