"""Sign-in throttling (allauth rate limits in Django's cache) and password reset, both
answering the same whether or not the account exists."""

import os
import re
import threading
import uuid

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client

pytestmark = pytest.mark.django_db
LOCAL_CACHE = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                           "LOCATION": "nhigov-login-tests"}}
TOO_MANY = "Too many failed login attempts"
WRONG = "wrong-password-1"


@pytest.fixture
def local_cache(settings):
    """Counts start from zero in a cache of the test's own (never clear() a shared Redis)."""
    settings.CACHES = LOCAL_CACHE
    cache.clear()
    yield
    cache.clear()


def attempt(login: str, password: str = WRONG):
    return Client().post("/accounts/login/", {"login": login, "password": password})


def errors(response) -> list[str]:
    return list(response.context["form"].non_field_errors())


def test_it_throttles_an_account_after_five_failures_even_with_the_right_password(
        users, local_cache):
    for _ in range(5):
        assert TOO_MANY not in " ".join(errors(attempt("owner@example.test")))
    blocked = attempt("owner@example.test", "correct-horse-battery")
    assert blocked.status_code == 200 and TOO_MANY in " ".join(errors(blocked))
    assert "_auth_user_id" not in blocked.client.session
    # Another account from the same address is not locked by the first one's failures.
    assert attempt("auditor@example.test", "correct-horse-battery").status_code == 302


def test_it_throttles_unknown_accounts_exactly_like_known_ones(users, local_cache):
    known = [errors(attempt("owner@example.test")) for _ in range(6)]
    cache.clear()
    unknown = [errors(attempt("nobody@example.test")) for _ in range(6)]
    assert known == unknown
    assert TOO_MANY in " ".join(known[-1]) and TOO_MANY not in " ".join(known[0])


def test_it_throttles_one_address_trying_many_accounts(users, local_cache):
    for n in range(10):
        attempt(f"guess{n}@example.test")
    assert TOO_MANY in " ".join(errors(attempt("owner@example.test")))


def test_a_success_does_not_reset_the_failure_count(users, local_cache):
    for _ in range(4):
        attempt("owner@example.test")
    assert attempt("owner@example.test", "correct-horse-battery").status_code == 302
    attempt("owner@example.test")
    assert TOO_MANY in " ".join(errors(attempt("owner@example.test", "correct-horse-battery")))


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (CI sets it)")
def test_it_counts_failures_in_redis_so_every_web_process_sees_them(settings, users):
    prefix = f"nhigov-test-{uuid.uuid4().hex}"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": os.environ["REDIS_URL"], "KEY_PREFIX": prefix}}
    import redis

    direct = redis.Redis.from_url(os.environ["REDIS_URL"])
    try:
        for _ in range(5):
            attempt("nobody@example.test")
        assert direct.keys(f"{prefix}:*")  # the counts live in Redis, not in this process
        # Another thread has its own cache connection (as another process would).
        seen = []
        worker = threading.Thread(target=lambda: seen.append(errors(attempt(
            "nobody@example.test"))))
        worker.start()
        worker.join(30)
        assert TOO_MANY in " ".join(seen[0])
    finally:
        for key in direct.scan_iter(f"{prefix}:*"):
            direct.delete(key)


def test_password_reset_answers_the_same_for_known_and_unknown_addresses(users, local_cache):
    known = Client().post("/accounts/password/reset/", {"email": "owner@example.test"})
    unknown = Client().post("/accounts/password/reset/", {"email": "nobody@example.test"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == "/accounts/password/reset/done/"
    assert [m.to for m in mail.outbox] == [["owner@example.test"]]  # nothing to strangers
    done = Client().get("/accounts/password/reset/done/")
    assert done.status_code == 200 and b"nobody@" not in done.content


def test_password_reset_link_sets_a_new_password(users, local_cache):
    Client().post("/accounts/password/reset/", {"email": "owner@example.test"})
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+)", mail.outbox[0].body)
    client = Client()
    form_page = client.get(link.group(1), follow=True)
    assert form_page.status_code == 200
    target = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link.group(1)
    new = "a-brand-new-passphrase-77"
    response = client.post(target, {"password1": new, "password2": new})
    assert response.status_code == 302
    assert attempt("owner@example.test", new).status_code == 302


def test_password_reset_is_throttled_per_address(users, local_cache):
    for _ in range(5):
        Client().post("/accounts/password/reset/", {"email": "owner@example.test"})
    sixth = Client().post("/accounts/password/reset/", {"email": "owner@example.test"})
    assert sixth.status_code == 429
    assert len(mail.outbox) == 5
