"""Certificates connector against real files and real TLS servers on loopback (see
servers_tls.py): concrete values for every key type, bundles, duplicates, endpoints and
SNI; private keys never leave the disk; failures fail the run after reading the rest."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509

from inventory.choices import SourceKind
from inventory.connectors.base import (
    BadConfig,
    ConnectorError,
    IdentityRecord,
    Unreachable,
    connector_for,
)
from inventory.connectors.certificates import CertificatesConnector
from inventory.connectors.x509 import (
    X509Error,
    certificates_from_bytes,
    credential_record,
    parse_certificate,
    scan_pem,
)
from tests.live.servers_tls import (  # noqa: F401 - the *_fixture are pytest fixtures
    BROKEN_KEY_CANARY,
    FIXED_FROM,
    FIXED_TO,
    broken_tree_fixture,
    pki_fixture,
    tls_endpoints_fixture,
)


def connector(**config) -> CertificatesConnector:
    return CertificatesConnector(config)


def collect(conn: CertificatesConnector) -> tuple[list[IdentityRecord], ConnectorError | None]:
    """Every record read() yields, and the error it raises at the end (if any)."""
    records: list[IdentityRecord] = []
    try:
        for record in conn.read():
            records.append(record)
    except ConnectorError as exc:
        return records, exc
    return records, None


def by_name(records: list[IdentityRecord]) -> dict[str, IdentityRecord]:
    return {r.name: r for r in records}


def dump(*things) -> str:
    return json.dumps([asdict(t) for t in things], default=str)


def ski(made) -> str:
    return made.cert.extensions.get_extension_for_class(
        x509.SubjectKeyIdentifier).value.digest.hex()


# ------------------------------------------------------------------------- files


def test_it_reads_one_record_per_distinct_certificate_in_the_tree(pki):
    records, error = collect(connector(directories=[str(pki.tree)]))
    assert error is None
    assert sorted(r.external_id for r in records) == sorted(
        f"sha256:{m.fingerprint}" for m in pki.in_tree)
    assert sorted(by_name(records)) == [
        "NHI Test Issuing CA", "NHI Test Root CA", "api.example.test", "billing-client",
        "dsa.example.test", "ec.example.test", "ed.example.test", "legacy.example.test",
        "nocn.example.test", "soon.example.test", "weak.example.test", "worker.example.test"]
    for record in records:
        json.dumps(record.attributes)  # JSON-safe as it is, no default= needed
        json.dumps(record.owner_hints)


def test_it_describes_an_rsa_leaf_issued_by_an_intermediate(pki):
    records, _ = collect(connector(directories=[str(pki.tree)], environment="production"))
    api = by_name(records)["api.example.test"]
    assert (api.provider, api.kind, api.auth_method, api.privilege, api.environment) == (
        "certificate", "certificate", "certificate", "unknown", "production")
    assert api.external_id == f"sha256:{pki.api.fingerprint}"
    assert api.path == str(pki.tree / "services" / "api" / "fullchain.pem")
    assert (api.created_at_source, api.expires_at) == (FIXED_FROM, FIXED_TO)
    assert api.permissions_summary == "Extended key usage: serverAuth, clientAuth"
    assert api.owner_hints == {"team": "payments-team",
                               "technical_owner": "api-owner@example.test"}
    a = api.attributes
    assert a["subject"] == ("emailAddress=api-owner@example.test,CN=api.example.test,"
                            "OU=payments-team,O=Example Corp")
    assert a["sans"] == ["DNS:api.example.test", "DNS:api.internal.example.test",
                         "IP:127.0.0.1"]
    assert a["issuer"] == "CN=NHI Test Issuing CA,O=Example Corp"
    assert (a["serial"], a["not_before"], a["not_after"]) == (
        "2001", "2025-01-01T00:00:00+00:00", "2035-01-01T00:00:00+00:00")
    assert (a["key_type"], a["key_size"], a["curve"], a["signature_algorithm"]) == (
        "RSA", 2048, "", "ecdsa-with-SHA256")
    assert (a["is_ca"], a["self_signed"], a["role"]) == (False, False, "leaf")
    assert a["extended_key_usage"] == ["serverAuth", "clientAuth"]
    assert a["fingerprint_sha256"] == pki.api.fingerprint
    assert (a["subject_key_id"], a["authority_key_id"]) == (ski(pki.api), ski(pki.intermediate))
    [cred] = api.credentials
    assert (cred.kind, cred.external_id, cred.fingerprint, cred.status) == (
        "certificate", "2001", pki.api.fingerprint, "active")
    assert (cred.key_algorithm, cred.key_size, cred.expires_at) == ("RSA", 2048, FIXED_TO)
    assert cred.created_at_source == FIXED_FROM


def test_it_records_every_certificate_of_a_bundle_with_its_position(pki):
    records, _ = collect(connector(directories=[str(pki.tree)]))
    names = by_name(records)
    bundle = str(pki.tree / "services" / "api" / "fullchain.pem")
    expected = [("api.example.test", 0, "leaf"), ("NHI Test Issuing CA", 1, "intermediate"),
                ("NHI Test Root CA", 2, "root")]
    for name, position, role in expected:
        [location] = [loc for loc in names[name].attributes["locations"]
                      if loc.get("path") == bundle]
        assert (location["position"], location["count"]) == (position, 3)
        assert names[name].attributes["role"] == role
    inter = names["NHI Test Issuing CA"].attributes
    assert (inter["is_ca"], inter["path_length"], inter["self_signed"]) == (True, 0, False)
    assert (inter["key_type"], inter["key_size"], inter["curve"]) == ("EC", 384, "secp384r1")
    assert inter["signature_algorithm"] == "sha256WithRSAEncryption"  # signed by the root
    root = names["NHI Test Root CA"]
    assert (root.attributes["is_ca"], root.attributes["self_signed"]) == (True, True)
    assert root.permissions_summary == "Certificate authority: can issue certificates " \
                                       "(path length 1)"
    assert root.expires_at == datetime(2044, 1, 1, tzinfo=UTC)


def test_it_merges_one_certificate_found_in_three_files_into_one_record(pki):
    records, _ = collect(connector(directories=[str(pki.tree)]))
    root = by_name(records)["NHI Test Root CA"]
    assert root.attributes["paths"] == [
        str(pki.tree / "ca" / "root-ca-trusted.pem"),  # a TRUSTED CERTIFICATE block
        str(pki.tree / "ca" / "root-ca.pem"),
        str(pki.tree / "services" / "api" / "fullchain.pem")]
    assert root.attributes["endpoints"] == []
    assert [c.external_id for c in root.credentials] == ["1000"]
    assert len([r for r in records if r.external_id == root.external_id]) == 1


@pytest.mark.parametrize(("name", "key_type", "key_size", "curve", "signature", "file"), [
    ("ec.example.test", "EC", 256, "secp256r1", "sha256WithRSAEncryption", "ec/ec.cer"),
    ("ed.example.test", "Ed25519", 256, "Ed25519", "ed25519", "ed25519.pem"),
    ("dsa.example.test", "DSA", 2048, "", "dsa-with-sha256", "dsa.PEM"),
    ("weak.example.test", "RSA", 1024, "", "sha256WithRSAEncryption", "weak/weak.pem"),
])
def test_it_describes_each_key_type(pki, name, key_type, key_size, curve, signature, file):
    records, _ = collect(connector(directories=[str(pki.tree)]))
    record = by_name(records)[name]
    a = record.attributes
    assert (a["key_type"], a["key_size"], a["curve"], a["signature_algorithm"]) == (
        key_type, key_size, curve, signature)
    assert a["paths"] == [str(pki.tree / file)]
    assert (record.credentials[0].key_algorithm, record.credentials[0].key_size) == (
        key_type, key_size)


def test_it_reports_expired_and_soon_expiring_certificates(pki):
    records, _ = collect(connector(directories=[str(pki.tree)]))
    names = by_name(records)
    legacy = names["legacy.example.test"]
    assert legacy.expires_at == datetime(2021, 1, 1, tzinfo=UTC)
    assert legacy.credentials[0].status == "expired"
    assert legacy.status == "active"  # the identity is still out there; rules flag it
    assert legacy.attributes["self_signed"] is True
    soon = names["soon.example.test"]
    left = soon.expires_at - datetime.now(UTC)
    assert timedelta(days=9, hours=23) < left <= timedelta(days=10)
    assert soon.expires_at == pki.expiring.cert.not_valid_after_utc
    assert soon.credentials[0].status == "active"
    assert soon.attributes["issuer"] == "CN=NHI Test Root CA,O=Example Corp"


def test_it_names_a_certificate_without_common_name_after_its_first_san(pki):
    records, _ = collect(connector(directories=[str(pki.tree)]))
    nocn = by_name(records)["nocn.example.test"]
    assert nocn.attributes["common_name"] == ""
    assert nocn.attributes["sans"] == ["DNS:nocn.example.test"]
    assert nocn.attributes["subject"] == "O=Example Corp"


def test_it_notes_private_keys_beside_certificates_and_never_stores_them(pki):
    conn = connector(directories=[str(pki.tree)])
    records, _ = collect(conn)
    names = by_name(records)
    worker = names["worker.example.test"].attributes
    [location] = worker["locations"]
    assert (location["private_key_in_file"], location["key_files_beside"]) == (
        True, ["worker.key"])
    assert worker["private_key_beside"] is True
    api = names["api.example.test"].attributes
    assert (api["locations"][0]["private_key_in_file"],
            api["locations"][0]["key_files_beside"]) == (False, ["privkey.pem"])
    assert api["private_key_beside"] is True
    # privkey.pem is the leaf's key: the root and intermediate in the bundle are not flagged
    assert names["NHI Test Root CA"].attributes["private_key_beside"] is False
    assert names["NHI Test Issuing CA"].attributes["private_key_beside"] is False
    assert names["dsa.example.test"].attributes["private_key_beside"] is False
    everything = dump(*records, conn.check())
    for canary in pki.canaries:
        assert canary not in everything
    assert "PRIVATE KEY" not in everything


def test_it_skips_files_without_certificates_and_other_extensions(pki):
    conn = connector(directories=[str(pki.tree)])
    records, _ = collect(conn)
    paths = {p for r in records for p in r.attributes["paths"]}
    assert str(pki.tree / "README.txt") not in paths
    assert str(pki.tree / "params" / "dhparam.pem") not in paths
    assert str(pki.tree / "services" / "api" / "privkey.pem") not in paths
    details = conn.check().details
    assert (details["files"], details["skipped_files"], details["key_files"]) == (12, 2, 3)


def test_it_treats_an_empty_directory_as_an_empty_answer(tmp_path):
    conn = connector(directories=[str(tmp_path)])
    assert collect(conn) == ([], None)
    result = conn.check()
    assert result.ok
    assert result.summary == ("0 file(s) with 0 certificate(s) in 1 directory; "
                              "0 distinct certificate(s), 0 expired")


def test_it_skips_excluded_files_and_directories(pki, broken_tree):
    conn = connector(directories=[str(broken_tree), str(pki.tree)],
                     exclude=["bad-*", "garbage.cer", "truncated-key.pem", "services", "*.cer"])
    records, error = collect(conn)
    assert error is None
    names = by_name(records)
    assert "fine.example.test" in names
    assert "api.example.test" not in names  # services/ pruned
    assert "ec.example.test" not in names  # ec/ec.cer
    assert names["NHI Test Root CA"].attributes["paths"] == [
        str(pki.tree / "ca" / "root-ca-trusted.pem"), str(pki.tree / "ca" / "root-ca.pem")]


# ------------------------------------------------------------------------- TLS endpoints


def test_it_reads_the_chain_a_tls_endpoint_sends(pki, tls_endpoints):
    address = tls_endpoints["api"]
    records, error = collect(connector(endpoints=[address]))
    assert error is None
    assert [r.name for r in records] == ["api.example.test", "NHI Test Issuing CA"]
    for position, record in enumerate(records):
        [location] = record.attributes["locations"]
        assert location["endpoint"] == address
        assert (location["position"], location["count"], location["sni"]) == (position, 2, "")
        assert location["tls_version"] == "TLSv1.3"
        assert location["cipher"].startswith("TLS_")
        assert record.path == address
        assert record.attributes["endpoints"] == [address]
        assert record.attributes["private_key_beside"] is False
    assert records[0].external_id == f"sha256:{pki.api.fingerprint}"
    assert records[1].external_id == f"sha256:{pki.intermediate.fingerprint}"


def test_it_merges_endpoint_and_file_sightings(pki, tls_endpoints):
    address = tls_endpoints["api"]
    # Overlapping directories and a repeated endpoint do not repeat a location.
    records, error = collect(connector(
        directories=[str(pki.tree), str(pki.tree / "services")], endpoints=[address, address]))
    assert error is None
    assert len(records) == 12
    api = by_name(records)["api.example.test"]
    assert api.attributes["paths"] == [str(pki.tree / "services" / "api" / "fullchain.pem")]
    assert api.attributes["endpoints"] == [address]
    assert len(api.attributes["locations"]) == 2
    assert api.path == api.attributes["paths"][0]


def test_it_asks_for_the_sni_name(pki, tls_endpoints):
    endpoint = f"{tls_endpoints['api']}/other.example.test"
    [record], error = collect(connector(endpoints=[endpoint]))
    assert error is None
    assert (record.name, record.external_id) == (
        "other.example.test", f"sha256:{pki.other.fingerprint}")
    assert record.attributes["locations"][0]["sni"] == "other.example.test"
    assert record.attributes["endpoints"] == [endpoint]


def test_it_sees_expired_weak_and_ed25519_certificates_on_endpoints(pki, tls_endpoints):
    endpoints = [tls_endpoints[n] for n in ("expired", "weak", "ed")]
    records, error = collect(connector(endpoints=endpoints))
    assert error is None
    names = by_name(records)
    assert list(names) == ["legacy.example.test", "weak.example.test", "ed.example.test"]
    assert names["legacy.example.test"].credentials[0].status == "expired"
    assert names["weak.example.test"].attributes["key_size"] == 1024
    assert names["ed.example.test"].attributes["key_type"] == "Ed25519"
    assert names["weak.example.test"].external_id == f"sha256:{pki.weak.fingerprint}"


def test_it_yields_what_it_read_then_fails_when_an_endpoint_refuses(pki, tls_endpoints):
    refused = tls_endpoints["refused"]
    conn = connector(directories=[str(pki.tree)], endpoints=[tls_endpoints["api"], refused])
    records, error = collect(conn)
    assert len(records) == 12  # everything readable was yielded first
    assert type(error) is Unreachable
    assert str(error) == (f"Certificates: 1 location(s) could not be read, so this run marks "
                          f"nothing missing: {refused}: connection refused")


def test_it_fails_on_an_endpoint_that_never_answers_tls(tls_endpoints):
    silent = tls_endpoints["silent"]
    started = time.monotonic()
    records, error = collect(connector(endpoints=[silent, tls_endpoints["ed"]],
                                       timeout_seconds=1))
    assert time.monotonic() - started < 4
    assert [r.name for r in records] == ["ed.example.test"]
    assert type(error) is Unreachable
    assert f"{silent}: timed out after 1s while waiting for the TLS handshake" in str(error)


def test_it_check_reports_what_it_sees(pki, tls_endpoints):
    result = connector(directories=[str(pki.tree)],
                       endpoints=[tls_endpoints["api"], tls_endpoints["ed"]]).check()
    assert result.ok
    assert result.summary == ("12 file(s) with 14 certificate(s) in 1 directory; "
                              "2 of 2 endpoint(s) reachable with 3 certificate(s); "
                              "12 distinct certificate(s), 1 expired")
    assert (result.details["certificates"], result.details["endpoint_certificates"]) == (14, 3)
    assert result.details["endpoints_reachable"] == 2


def test_it_check_reports_unreachable_endpoints_and_the_first_errors(tls_endpoints):
    refused, silent = tls_endpoints["refused"], tls_endpoints["silent"]
    result = connector(endpoints=[tls_endpoints["api"], refused, silent],
                       timeout_seconds=1).check()
    assert not result.ok
    assert result.error_kind == "unreachable"
    assert result.summary.startswith("1 of 3 endpoint(s) reachable with 2 certificate(s); "
                                     "2 distinct")
    assert result.summary.endswith(f"; 2 problem(s), first: {refused}: connection refused")
    assert result.details["problems"] == [
        f"{refused}: connection refused",
        f"{silent}: timed out after 1s while waiting for the TLS handshake"]


# ------------------------------------------------------------------------- failures


def test_it_fails_the_run_on_malformed_files_after_reading_the_good_one(broken_tree):
    records, error = collect(connector(directories=[str(broken_tree)]))
    assert [r.name for r in records] == ["fine.example.test"]
    assert type(error) is ConnectorError
    message = str(error)
    assert message.startswith("Certificates: 4 location(s) could not be read, so this run "
                              "marks nothing missing: ")
    assert f"{broken_tree / 'bad-base64.pem'}: malformed: PEM block 1 (CERTIFICATE) is " \
           "not valid base64" in message
    assert f"{broken_tree / 'bad-der.crt'} (certificate 1): the certificate cannot be " \
           "parsed" in message
    assert f"{broken_tree / 'garbage.cer'}: malformed: neither PEM nor DER encoded" in message
    assert f"{broken_tree / 'truncated-key.pem'}: malformed: PEM block 'PRIVATE KEY' has " \
           "no END line" in message
    assert BROKEN_KEY_CANARY not in message + dump(*records)


def test_it_check_reports_malformed_files_as_bad_config(broken_tree):
    result = connector(directories=[str(broken_tree)]).check()
    assert (result.ok, result.error_kind) == (False, "bad_config")
    assert "4 problem(s), first: " in result.summary
    assert BROKEN_KEY_CANARY not in dump(result)


def test_it_refuses_a_missing_directory_before_reading_anything(pki, tmp_path):
    missing = str(tmp_path / "nope")
    conn = connector(directories=[str(pki.tree), missing])
    with pytest.raises(BadConfig, match=f"directory {missing} does not exist"):
        next(conn.read())
    result = conn.check()
    assert (result.ok, result.error_kind) == (False, "bad_config")
    assert result.summary == (f"directory {missing} does not exist or is not a directory "
                              "(as seen by the worker)")


def _unprivileged(fn):
    """Run `fn` as nobody in a forked child when we are root (root reads every file)."""
    if os.geteuid() != 0:
        return fn()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop privileges, run, send the result back, exit hard
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            outcome = ("ok", fn())
        except BaseException as exc:  # noqa: BLE001 - anything goes back to the parent
            outcome = ("error", repr(exc))
        with os.fdopen(write_end, "wb") as out:
            pickle.dump(outcome, out)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as source:
        data = source.read()
    os.waitpid(pid, 0)
    status, value = pickle.loads(data)  # noqa: S301 - our own child process
    if status != "ok":
        pytest.skip(f"cannot drop privileges here: {value}")
    return value


def test_it_reports_unreadable_files_and_directories_as_access_denied(pki):
    base = Path(tempfile.mkdtemp(prefix="nhigov-certs-"))
    try:
        base.chmod(0o755)
        (base / "ok.pem").write_bytes(pki.billing.pem)
        (base / "secret.pem").write_bytes(pki.worker.pem)
        (base / "locked").mkdir()
        (base / "locked" / "hidden.pem").write_bytes(pki.ec.pem)
        for path in (base / "ok.pem",):
            path.chmod(0o644)
        (base / "secret.pem").chmod(0)
        (base / "locked").chmod(0)
        conn = connector(directories=[str(base)])

        def read_and_check():
            records, error = collect(conn)
            return [r.name for r in records], type(error).__name__, str(error), conn.check()

        names, error_type, message, result = _unprivileged(read_and_check)
    finally:
        (base / "locked").chmod(0o755)
        shutil.rmtree(base)
    assert names == ["billing-client"]
    assert error_type == "AccessDenied"
    assert f"{base / 'locked'}: cannot list the directory: permission denied" in message
    assert f"{base / 'secret.pem'}: cannot read the file: permission denied" in message
    assert (result.ok, result.error_kind) == (False, "access_denied")


# ------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(("config", "problem"), [
    ({}, "give at least one of 'directories' or 'endpoints'"),
    ({"directories": ["relative/certs"]}, "directory 'relative/certs' must be an absolute path"),
    ({"directories": [1]}, "'directories' must be a list of strings"),
    ({"endpoints": ["no-port.example"]}, "is not host:port or host:port/sni-name"),
    ({"endpoints": ["h.example:70000"]}, "has no valid port"),
    ({"endpoints": ["h.example:443/bad sni"]}, "is not host:port"),
    ({"endpoints": ["h.example:443"], "timeout_seconds": 0}, "'timeout_seconds' must be"),
    ({"endpoints": ["h.example:443"], "timeout_seconds": "soon"}, "'timeout_seconds' must"),
    ({"endpoints": ["h.example:443"], "password": "x"}, "unknown parameter 'password'"),
])
def test_it_validates_its_configuration(config, problem):
    with pytest.raises(BadConfig, match="Certificates: ") as raised:
        connector(**config)
    assert problem in str(raised.value)


def test_it_accepts_lines_ipv6_and_sni_endpoints():
    conn = connector(directories="/etc/ssl/certs\n/srv/tls\n",
                     endpoints=["[::1]:8443/name.example", "db.example:5432"])
    assert conn.config == {
        "directories": ["/etc/ssl/certs", "/srv/tls"],
        "endpoints": ["[::1]:8443/name.example", "db.example:5432"],
        "exclude": [], "timeout_seconds": 5.0, "environment": ""}


def test_it_is_registered_for_the_certificates_source_kind():
    conn = connector_for(SourceKind.CERTIFICATES, {"endpoints": ["h.example:443"]})
    assert isinstance(conn, CertificatesConnector)
    assert CertificatesConnector.name == SourceKind.CERTIFICATES == "certificates"
    assert [p.name for p in CertificatesConnector.params] == [
        "directories", "endpoints", "exclude", "timeout_seconds", "environment"]
    assert CertificatesConnector.auth.startswith("None:")


# ------------------------------------------------------------------------- x509 helpers


def test_it_parses_pem_and_der_to_the_same_facts(pki):
    from_pem, from_der = parse_certificate(pki.api.pem), parse_certificate(pki.api.der)
    assert from_pem == from_der
    assert from_pem.external_id == f"sha256:{pki.api.fingerprint}"
    assert from_pem.name == "api.example.test"
    assert (from_pem.organization, from_pem.organizational_unit, from_pem.email) == (
        "Example Corp", "payments-team", "api-owner@example.test")


def test_it_lists_a_bundle_and_counts_keys_without_decoding_them(pki):
    scan = scan_pem(pki.worker.pem + pki.worker.key_pem + pki.root.pem)
    assert (len(scan.certificates), scan.private_keys, scan.other_labels) == (2, 1, [])
    bundle = (pki.tree / "services" / "api" / "fullchain.pem").read_bytes()
    assert [c.role for c in certificates_from_bytes(bundle)] == [
        "leaf", "intermediate", "root"]


@pytest.mark.parametrize(("data", "problem"), [
    (b"", "the file is empty"),
    (b"  \n", "the file is empty"),
    (b"hello", "neither PEM nor DER encoded"),
    (b"\x30\x82\xff\xff\x00", "the certificate is truncated"),
    (b"-----BEGIN CERTIFICATE-----\nMIIB\n", "PEM block 'CERTIFICATE' has no END line"),
    (b"-----BEGIN X509 CRL-----\nAA==\n-----END X509 CRL-----\n", "no certificate in the data"),
])
def test_it_rejects_bytes_that_are_not_certificates(data, problem):
    with pytest.raises(X509Error, match=problem):
        parse_certificate(data)


def test_it_gives_the_credential_a_status_by_date(pki):
    info = parse_certificate(pki.api.pem)
    states = [credential_record(info, when).status for when in (
        datetime(2024, 6, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC), FIXED_TO)]
    assert states == ["inactive", "active", "expired"]


# ------------------------------------------------------------------------- through sync


@pytest.mark.django_db
def test_it_syncs_into_the_register_and_a_failed_run_marks_nothing_missing(pki, broken_tree):
    from inventory.models import Credential, Identity
    from inventory.sync import sync_records
    from tests.factories import SourceFactory

    source = SourceFactory(name="certs", kind="certificates",
                           config={"directories": [str(pki.tree)]})
    conn = connector_for(source.kind, source.config)
    first = sync_records(source, conn.read())
    assert (first.status, first.created, first.error) == ("succeeded", 12, "")
    api = Identity.objects.get(source=source, external_id=f"sha256:{pki.api.fingerprint}")
    assert (api.name, api.kind, api.auth_method, api.expires_at) == (
        "api.example.test", "certificate", "certificate", FIXED_TO)
    cred = Credential.objects.get(identity=api)
    assert (cred.external_id, cred.fingerprint, cred.key_size) == (
        "2001", pki.api.fingerprint, 2048)
    second = sync_records(source, conn.read())
    assert (second.status, second.unchanged, second.updated) == ("succeeded", 12, 0)
    # Same source, now pointing at a tree with malformed files: the run fails, and the
    # twelve certificates it did not see stay active (none is marked missing).
    failing = connector_for(source.kind, {"directories": [str(broken_tree)]})
    third = sync_records(source, failing.read())
    assert third.status == "failed"
    assert "malformed" in third.error
    seen_before = {f"sha256:{m.fingerprint}" for m in pki.in_tree}
    assert set(Identity.objects.filter(source=source, status="active").values_list(
        "external_id", flat=True)) >= seen_before
    assert not Identity.objects.filter(source=source, status="missing").exists()
    assert third.missing == 0
