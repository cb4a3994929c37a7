"""Which file of an evidence pack answers which control, per framework.

Control ids are the frameworks' own: AICPA 2017 Trust Services Criteria (SOC 2), ISO/IEC
27001:2022 Annex A, PCI DSS v4.0.1, NIST SP 800-53 Rev. 5 and NIST CSF 2.0. Titles are
short paraphrases for the reader, not the standards' text.
"""

from __future__ import annotations

from dataclasses import dataclass

# The data files every pack holds (name -> what it contains), in the order they are written.
FILES = {
    "inventory.csv": "Every non-human identity with owners, team, purpose, zone and status "
                     "(state at export time).",
    "rotation_log.csv": "Credentials issued and identities rotated within the period.",
    "review_campaigns.csv": "Access-review campaigns active in the period, with decision counts.",
    "review_decisions.csv": "Every review task of those campaigns: reviewer, decision, when, by "
                            "whom.",
    "findings.csv": "Risk findings open at any time in the period, with resolution.",
    "exceptions.csv": "Accepted risk exceptions in force during the period: approver, reason, "
                      "expiry.",
    "sync_coverage.csv": "Each discovery source: runs in the period and last success.",
    "sync_runs.csv": "Every discovery run started in the period, with counts and errors.",
    "alerts.csv": "Alerts sent (or attempted) in the period, by channel.",
    "audit_events.csv": "The audit-chain segment for the period, with each event's hashes.",
    "audit_verification.json": "Result of verifying that segment of the hash chain.",
    "control_mapping.csv": "This mapping: which file answers which control.",
    "summary.html": "Summary report for people.",
    "summary.pdf": "The same summary as PDF.",
}


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    files: tuple[str, ...]


@dataclass(frozen=True)
class Framework:
    key: str
    name: str
    controls: tuple[Control, ...]


_INV, _ROT = "inventory.csv", "rotation_log.csv"
_CAMP, _DEC = "review_campaigns.csv", "review_decisions.csv"
_FIND, _EXC = "findings.csv", "exceptions.csv"
_COV, _RUNS, _ALERTS = "sync_coverage.csv", "sync_runs.csv", "alerts.csv"
_AUDIT, _VERIFY = "audit_events.csv", "audit_verification.json"


def _c(control_id: str, title: str, *files: str) -> Control:
    return Control(control_id, title, files)


FRAMEWORKS: dict[str, Framework] = {f.key: f for f in (
    Framework("soc2", "SOC 2 (Trust Services Criteria 2017)", (
        _c("CC6.1", "Logical access security over protected information assets",
           _INV, _ROT, _FIND, _EXC),
        _c("CC6.2", "Credentials registered, authorised and removed",
           _INV, _DEC, _COV, _RUNS),
        _c("CC6.3", "Access modified or removed based on periodic review",
           _CAMP, _DEC, _EXC),
        _c("CC7.2", "System components monitored for anomalies", _FIND, _ALERTS, _AUDIT, _VERIFY),
    )),
    Framework("iso27001", "ISO/IEC 27001:2022 (Annex A)", (
        _c("A.5.16", "Identity management", _INV, _COV, _RUNS),
        _c("A.5.18", "Access rights provisioned, reviewed and removed", _CAMP, _DEC, _EXC),
        _c("A.8.2", "Privileged access rights", _INV, _FIND, _DEC),
        _c("A.8.5", "Secure authentication", _INV, _ROT, _FIND),
        _c("A.8.15", "Logging", _AUDIT, _VERIFY),
        _c("A.8.16", "Monitoring activities", _FIND, _ALERTS, _COV),
    )),
    Framework("pci_dss", "PCI DSS 4.0.1", (
        _c("7.2.4", "User accounts and access privileges reviewed at least every six months",
           _CAMP, _DEC),
        _c("7.2.5", "Application and system accounts assigned and managed with least privilege",
           _INV, _FIND, _EXC),
        _c("7.2.5.1", "Access by application and system accounts reviewed periodically",
           _CAMP, _DEC),
        _c("8.3.9", "Passwords used as the only factor changed at least every 90 days",
           _ROT, _FIND),
        _c("8.6.1", "Interactive login by system or application accounts managed", _INV, _FIND),
        _c("8.6.2", "Passwords of system and application accounts not hard-coded",
           _FIND, _EXC),
        _c("8.6.3", "Passwords of system and application accounts protected and changed "
                    "periodically", _ROT, _FIND, _EXC),
        _c("10.2", "Audit logs capture user and system activity", _AUDIT),
        _c("10.3.4", "Change detection on audit logs", _VERIFY, _AUDIT),
        _c("12.5.1", "Inventory of in-scope system components maintained", _INV, _COV),
    )),
    Framework("nist_800_53", "NIST SP 800-53 Rev. 5", (
        _c("AC-2", "Account management", _INV, _DEC, _COV, _RUNS),
        _c("AC-2(3)", "Disable accounts (expired, no longer needed, inactive)", _INV, _FIND, _DEC),
        _c("AC-2(7)", "Privileged user accounts", _INV, _FIND),
        _c("AC-6", "Least privilege", _FIND, _EXC),
        _c("IA-4", "Identifier management", _INV),
        _c("IA-5", "Authenticator management", _ROT, _FIND),
        _c("AU-6", "Audit record review, analysis and reporting", _AUDIT, _ALERTS, _FIND),
        _c("AU-9", "Protection of audit information", _VERIFY, _AUDIT),
        _c("CA-7", "Continuous monitoring", _COV, _RUNS, _FIND, _ALERTS),
    )),
    Framework("nist_csf", "NIST Cybersecurity Framework 2.0", (
        _c("ID.AM-02", "Inventories of software, services and systems maintained", _INV, _COV),
        _c("ID.AM-08", "Assets managed throughout their life cycles", _INV, _RUNS, _DEC),
        _c("PR.AA-01", "Identities and credentials of users, services and hardware managed",
           _INV, _ROT),
        _c("PR.AA-05", "Access permissions defined, managed, enforced and reviewed",
           _CAMP, _DEC, _EXC),
        _c("PR.PS-04", "Log records generated and available for continuous monitoring",
           _AUDIT, _VERIFY),
        _c("DE.CM-03", "Personnel activity and technology usage monitored", _FIND, _ALERTS),
        _c("DE.CM-09", "Computing hardware, software and runtime environments monitored",
           _COV, _RUNS, _FIND),
    )),
)}

CHOICES = [(f.key, f.name) for f in FRAMEWORKS.values()]


def mapping_rows(framework: Framework) -> list[list[str]]:
    """control_mapping.csv: one row per (control, file)."""
    return [[framework.name, c.id, c.title, name, FILES[name]]
            for c in framework.controls for name in c.files]
