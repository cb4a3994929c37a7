"""Review fixtures: a small organisation with owners, a lead, and identities whose
ownership covers every case campaigns handle (two owners, one, none, an owner who left)."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from nhigov.lib.audit import Actor
from reviews.campaigns import open_campaign
from tests.factories import IdentityFactory, PersonFactory, TeamFactory

LOCAL_CACHE = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                           "LOCATION": "nhigov-review-tests"}}


@pytest.fixture(autouse=True)
def _fresh_rate_limits(settings):
    """Link rate limits count in the cache: each test starts from zero in a cache of its
    own (never clear() a shared Redis, which would flush the broker's database too)."""
    settings.CACHES = LOCAL_CACHE
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def org(db):
    lead = PersonFactory(email="lena.lead@example.test", name="Lena Lead", team=None)
    team = TeamFactory(name="Payments", slug="payments", lead=lead)
    lead.team = team
    lead.save()
    alice = PersonFactory(email="alice@example.test", name="Alice Tech", team=team)
    bob = PersonFactory(email="bob@example.test", name="Bob Business", team=team)
    carol = PersonFactory(email="carol@example.test", name="Carol Other", team=team)
    gone = PersonFactory(email="gone@example.test", name="Gone Person", team=team,
                         is_active=False)
    both = IdentityFactory(name="svc-payments-api", technical_owner=alice, business_owner=bob,
                           team=team, privilege="admin", purpose="Charges cards")
    tech_only = IdentityFactory(name="svc-ledger-reader", technical_owner=alice, team=team)
    orphan = IdentityFactory(name="svc-orphan", team=team)
    left = IdentityFactory(name="svc-left-behind", technical_owner=gone, team=team)
    return {"lead": lead, "team": team, "alice": alice, "bob": bob, "carol": carol,
            "gone": gone, "both": both, "tech_only": tech_only, "orphan": orphan,
            "left": left}


def make_campaign(scope: str = "", days: int = 14, **kwargs):
    return open_campaign(
        name=kwargs.pop("name", "Q3 review"), scope=scope,
        due_date=(timezone.now() + timedelta(days=days)).date(),
        actor=Actor.system("test"), **kwargs,
    )


@pytest.fixture
def campaign(org):
    return make_campaign()


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed():` runs on-commit callbacks (emails queued after a commit)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture(autouse=True)
def _reviews_run_tasks_in_process(eager_celery):
    """Campaign opening and mail sending enqueue Celery tasks; run them here."""
