"""docker-compose.yml describes the full stack with health checks and one image."""

from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def load() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_it_runs_the_whole_stack_from_one_image():
    services = load()["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    built = {name for name, svc in services.items() if svc.get("build")}
    assert built == {"web", "worker", "beat"}
    assert {services[n]["image"] for n in built} == {"nhigov:latest"}


def test_it_health_checks_the_services_others_wait_for():
    services = load()["services"]
    for name in ("postgres", "redis", "web", "worker"):
        assert "healthcheck" in services[name], name
    assert services["worker"]["depends_on"]["web"]["condition"] == "service_healthy"
    assert services["web"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_it_keeps_secrets_out_of_the_file():
    env = load()["services"]["web"]["environment"]
    assert env["SECRET_KEY"].startswith("${SECRET_KEY")
    assert "${POSTGRES_PASSWORD" in env["DATABASE_URL"]
    assert env["DEBUG"] == "0"


def test_it_passes_the_env_file_and_checks_health_without_the_https_redirect():
    services = load()["services"]
    for name in ("web", "worker", "beat"):
        assert services[name]["env_file"] == ".env", name
    assert "/healthz/" in " ".join(services["web"]["healthcheck"]["test"])
