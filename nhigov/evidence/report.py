"""The pack's summary for people: key figures, reviews, audit chain, control mapping and
the data files with their hashes, rendered once as HTML and once as PDF (fpdf2).

Figures come from a handful of aggregate queries, whatever the register's size.
"""

from __future__ import annotations

from django.db.models import Count, Q
from django.template.loader import render_to_string
from fpdf import FPDF
from fpdf.fonts import FontFace

from inventory.models import Finding, Identity, Source
from nhigov.evidence.files import DATA_FILES, campaigns_in
from nhigov.evidence.frameworks import FILES
from reviews.models import Attestation


def _identity_figures() -> list[tuple[str, int]]:
    f = Identity.objects.aggregate(
        total=Count("id"), active=Count("id", filter=Q(status="active")),
        unowned=Count("id", filter=Q(technical_owner__isnull=True, business_owner__isnull=True)),
        no_purpose=Count("id", filter=Q(purpose="")),
        admin=Count("id", filter=Q(privilege="admin")),
        interactive=Count("id", filter=Q(interactive_login=True)),
        static=Count("id", filter=Q(auth_method="static_secret")))
    return [("Identities in the register", f["total"]), ("Active", f["active"]),
            ("Without an owner", f["unowned"]), ("Without a purpose", f["no_purpose"]),
            ("Admin privilege", f["admin"]), ("Interactive login possible", f["interactive"]),
            ("Authenticate with a static secret", f["static"])]


def _review_figures(pack) -> list[tuple[str, int]]:
    S = Attestation.Status
    tasks = Attestation.objects.filter(campaign__in=campaigns_in(pack.period).values("pk"))
    f = tasks.aggregate(
        tasks=Count("id"), campaigns=Count("campaign", distinct=True),
        confirm=Count("id", filter=Q(status=S.DECIDED, decision="confirm")),
        revoke=Count("id", filter=Q(status=S.DECIDED, decision="revoke")),
        reassign=Count("id", filter=Q(status=S.DECIDED, decision="reassign")),
        change=Count("id", filter=Q(status=S.DECIDED, decision="change")),
        expired=Count("id", filter=Q(status=S.EXPIRED)),
        open=Count("id", filter=Q(status__in=[S.PENDING, S.TRIAGE])))
    return [("Campaigns with tasks", f["campaigns"]), ("Review tasks", f["tasks"]),
            ("Confirmed", f["confirm"]), ("Revoked", f["revoke"]),
            ("Reassigned", f["reassign"]), ("Change requested", f["change"]),
            ("Expired without an answer", f["expired"]), ("Still open", f["open"])]


def _risk_figures() -> list[tuple[str, int]]:
    f = Finding.objects.aggregate(
        open=Count("id", filter=Q(status="open")),
        critical=Count("id", filter=Q(status="open", severity="critical")),
        high=Count("id", filter=Q(status="open", severity="high")),
        accepted=Count("id", filter=Q(status="accepted")))
    sources = Source.objects.aggregate(total=Count("id"), enabled=Count("id", filter=Q(
        enabled=True)))
    return [("Open findings (now)", f["open"]), ("Open critical", f["critical"]),
            ("Open high", f["high"]), ("Accepted exceptions (now)", f["accepted"]),
            ("Discovery sources", sources["total"]), ("Enabled sources", sources["enabled"])]


def context(pack, entries: list, verification: dict) -> dict:
    """Everything both renderings show."""
    return {
        "pack": pack, "framework": pack.framework, "period": pack.period,
        "generated_at": pack.generated_at, "actor": pack.actor.label,
        "identities": _identity_figures(), "reviews": _review_figures(pack),
        "risk": _risk_figures(), "verification": verification,
        "controls": pack.framework.controls,
        "files": [{"name": e.name, "rows": e.rows, "size": e.size, "sha256": e.sha256,
                   "description": FILES.get(e.name, "")}
                  for e in entries if e.name in DATA_FILES],
    }


def html(ctx: dict) -> str:
    return render_to_string("evidence/summary.html", ctx)


# fpdf2's core fonts are Latin-1: map the few typographic characters the portal uses.
_LATIN1 = str.maketrans({"–": "-", "—": "-", "…": "...", "“": '"', "”": '"', "‘": "'",
                         "’": "'", "→": "->", "·": "-", "✓": "v"})


def _t(value) -> str:
    text = "" if value is None else str(value)
    return text.translate(_LATIN1).encode("latin-1", "replace").decode("latin-1")


_HEAD = FontFace(emphasis="BOLD", fill_color=(232, 236, 243))


class _Pdf(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("helvetica", size=8)
        self.set_text_color(110)
        self.cell(0, 8, f"nhigov evidence pack - page {self.page_no()}/{{nb}}", align="C")


def pdf(ctx: dict) -> bytes:
    doc = _Pdf(format="A4")
    doc.set_title(_t(f"Evidence pack: {ctx['framework'].name}"))
    doc.set_creator("nhigov")
    doc.set_creation_date(ctx["generated_at"])
    doc.set_auto_page_break(True, margin=16)
    doc.add_page()
    _heading(doc, ctx)
    _figures(doc, "Register", ctx["identities"])
    _figures(doc, "Access reviews in the period", ctx["reviews"])
    _figures(doc, "Risk and discovery", ctx["risk"])
    _chain(doc, ctx["verification"])
    _controls(doc, ctx["controls"])
    _files(doc, ctx["files"])
    return bytes(doc.output())


def _heading(doc: FPDF, ctx: dict) -> None:
    doc.set_font("helvetica", "B", 17)
    doc.cell(0, 10, _t(f"Evidence pack - {ctx['framework'].name}"), new_x="LMARGIN",
             new_y="NEXT")
    doc.set_font("helvetica", size=10)
    doc.set_text_color(80)
    for line in (f"Period: {ctx['period']} (UTC, inclusive)",
                 f"Generated {ctx['generated_at']:%Y-%m-%d %H:%M:%S} UTC by {ctx['actor']}",
                 f"Pack {ctx['pack'].code}"):
        doc.cell(0, 5.5, _t(line), new_x="LMARGIN", new_y="NEXT")
    doc.set_text_color(0)
    doc.ln(3)


def _section(doc: FPDF, title: str) -> None:
    doc.ln(2)
    doc.set_font("helvetica", "B", 12)
    doc.cell(0, 8, _t(title), new_x="LMARGIN", new_y="NEXT")
    doc.set_font("helvetica", size=9)


def _table(doc: FPDF, widths: tuple, header: list[str], rows: list[list],
           align: str | tuple = "LEFT") -> None:
    with doc.table(col_widths=widths, text_align=align, line_height=5.2,
                   headings_style=_HEAD, cell_fill_color=250,
                   cell_fill_mode="ROWS") as table:
        head = table.row()
        for text in header:
            head.cell(_t(text))
        for row in rows:
            cells = table.row()
            for value in row:
                cells.cell(_t(value))


def _figures(doc: FPDF, title: str, figures: list[tuple[str, int]]) -> None:
    _section(doc, title)
    _table(doc, (3, 1), ["Figure", "Value"], [[label, f"{n:,}"] for label, n in figures],
           align=("LEFT", "RIGHT"))


def _chain(doc: FPDF, v: dict) -> None:
    _section(doc, "Audit chain")
    verdict = "VERIFIED" if v.get("ok") else f"FAILED at event {v.get('first_bad_id')}"
    rows = [["Result", verdict], ["Scope", v.get("scope", "")],
            ["Events in the period", v.get("events_in_period", 0)],
            ["Events checked", v.get("checked", 0)],
            ["Event ids", f"{v.get('first_event_id')} - {v.get('last_event_id')}"]]
    if v.get("reason"):
        rows.append(["Detail", v["reason"]])
    _table(doc, (1, 3), ["Check", "Outcome"], rows)


def _controls(doc: FPDF, controls) -> None:
    _section(doc, "Control mapping")
    _table(doc, (1, 3, 3), ["Control", "Requirement", "Answered by"],
           [[c.id, c.title, ", ".join(c.files)] for c in controls])


def _files(doc: FPDF, files: list[dict]) -> None:
    _section(doc, "Data files (SHA-256 in manifest.json)")
    _table(doc, (2, 1, 5), ["File", "Rows", "SHA-256"],
           [[f["name"], f"{f['rows']:,}", f["sha256"]] for f in files],
           align=("LEFT", "RIGHT", "LEFT"))
