"""The problem profile as one self-contained HTML document, its JSON twin, and a PDF.

Boards get the profile as a file they can open on any machine, offline, and print. So the
HTML has nothing outside itself: the charts are the Altair charts of ``charts`` rendered to
inline SVG by ``vl-convert`` (no script, no CDN, no web font), the styles are inline with
print rules (A4, no chart split across pages), and the method notes are
``method.md`` (also published in ``docs/analysis.md``). Every sentence under a chart is the
profile's own reading. The JSON holds the same figures (``Profile.as_dict``), so other tools
read what the board read. Aggregates only: the profile holds no personal data.

The PDF is the same HTML printed by a headless Chromium or Chrome when one is installed.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import tempfile
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import altair as alt
from markdown_it import MarkdownIt

from chi.analysis.board import BOARD_COLUMNS, display_rows
from chi.analysis.charts import CHARTS
from chi.analysis.document import Profile
from chi.analysis.readings import month_name, num, pct, period_words

DEFAULT_MARKING = "OFFICIAL"

CSS = """
:root { --ink: #17202a; --muted: #566573; --rule: #d5d8dc; --accent: #1b4f72; }
* { box-sizing: border-box; }
body { font-family: Helvetica, Arial, sans-serif; color: var(--ink); margin: 0 auto;
       max-width: 60rem; padding: 1.5rem 2rem 3rem; line-height: 1.45; font-size: 11pt; }
h1 { font-size: 20pt; margin: 0.2rem 0 0.3rem; color: var(--accent); }
h2 { font-size: 14pt; margin: 1.8rem 0 0.5rem; border-bottom: 2px solid var(--accent);
     padding-bottom: 0.2rem; color: var(--accent); }
h3 { font-size: 11.5pt; margin: 1.2rem 0 0.3rem; }
.marking { text-align: center; font-weight: bold; letter-spacing: 0.08em; font-size: 9pt;
           color: var(--muted); }
.meta { color: var(--muted); font-size: 9.5pt; margin-bottom: 0.8rem; }
.headline { font-size: 12.5pt; border-left: 4px solid var(--accent); padding: 0.4rem 0.8rem;
            background: #f4f6f7; }
ul.findings li { margin: 0.25rem 0; }
figure { margin: 1rem 0 1.4rem; break-inside: avoid; page-break-inside: avoid; }
figure svg { max-width: min(100%, 46rem); height: auto; display: block; }
figcaption { font-size: 10pt; margin-top: 0.3rem; }
figcaption b { display: block; font-size: 10.5pt; margin-bottom: 0.15rem; }
table { border-collapse: collapse; width: 100%; font-size: 9.5pt; margin: 0.5rem 0;
        break-inside: avoid; page-break-inside: avoid; }
th, td { border: 1px solid var(--rule); padding: 0.25rem 0.4rem; text-align: right;
         vertical-align: top; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #eaf2f8; }
td.Higher { background: #fadbd8; } td.Lower { background: #d4efdf; }
.notes, .caveats { font-size: 9.5pt; color: var(--muted); }
.notice { border: 2px solid #b03a2e; background: #fdedec; padding: 0.4rem 0.8rem;
          font-weight: bold; font-size: 10.5pt; }
.reading { font-style: italic; }
.method { font-size: 9.5pt; }
.method h3 { font-size: 10.5pt; }
footer { margin-top: 2rem; font-size: 8.5pt; color: var(--muted); border-top: 1px solid var(--rule);
         padding-top: 0.4rem; }
@page { size: A4; margin: 14mm 12mm 16mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  h2 { break-after: avoid; page-break-after: avoid; }
  section.board, section.method { break-before: page; page-break-before: always; }
  a { color: inherit; text-decoration: none; }
}
"""


@cache
def method_notes() -> str:
    """The method notes (Markdown) printed in every report."""
    return resources.files("chi.analysis").joinpath("method.md").read_text(encoding="utf-8")


def _vl_version() -> str:
    m = re.match(r"v?(\d+)\.(\d+)", alt.SCHEMA_VERSION)
    return f"{m.group(1)}.{m.group(2)}" if m else "6.4"


def chart_svg(chart: alt.Chart | alt.LayerChart) -> str:
    """An Altair chart as inline SVG markup (rendered offline by vl-convert)."""
    import vl_convert

    spec = chart.to_dict(validate=False)
    svg: str = vl_convert.vegalite_to_svg(spec, vl_version=_vl_version())
    svg = re.sub(r"^<\?xml[^>]*>\s*", "", svg)
    return re.sub(r'(<svg[^>]*?) width="[\d.]+" height="[\d.]+"', r"\1", svg, count=1)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _table(header: list[str], rows: list[list[str]], classes: list[list[str]] | None = None) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cells = []
        for j, cell in enumerate(row):
            cls = classes[i][j] if classes else ""
            attr = f' class="{_e(cls)}"' if cls else ""
            cells.append(f"<td{attr}>{_e(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def board_html(profile: Profile) -> str:
    table = profile.board
    rows = display_rows(table)
    classes = [
        ["", "", "", "", "", r.versus_1y or "", r.versus_3y or "", "", "", ""] for r in table.rows
    ]
    notes = "".join(f"<li>{_e(n)}</li>" for n in table.notes)
    return (
        f"<p class='reading'>{_e(profile.readings['board'])}</p>"
        + _table(list(BOARD_COLUMNS), rows, classes)
        + f"<ul class='notes'>{notes}</ul>"
    )


def _concentration_table(profile: Profile) -> str:
    labels = {
        "victims": "All victims",
        "da_victims": "DA victims",
        "dyads": "DA dyads",
        "perpetrators": "DA perpetrators",
    }
    rows = []
    for key, label in labels.items():
        for measure in ("harm", "count"):
            c = profile.concentration[f"{key}_{measure}"]
            rows.append(
                [
                    f"{label}: {'harm' if measure == 'harm' else 'crimes'}",
                    f"{c.units:,}",
                    num(c.gini, 2) if c.gini is not None else "n/a",
                    num(c.generalised_gini, 2) if c.generalised_gini is not None else "n/a",
                    *(pct(c.holding.get(str(level))) for level in (50, 80, 85, 90)),
                    pct(c.top.get("1")),
                    pct(c.top.get("10")),
                ]
            )
    return _table(
        [
            "Population and measure",
            "People",
            "Gini",
            "Generalised Gini",
            "Share holding 50%",
            "80%",
            "85%",
            "90%",
            "Top 1% hold",
            "Top 10% hold",
        ],
        rows,
    )


def _repeat_table(profile: Profile) -> str:
    rows = []
    for key, label in (
        ("victims", "All victims"),
        ("da_victims", "DA victims"),
        ("dyads", "DA dyads"),
        ("perpetrators", "DA perpetrators"),
        ("ipv_perpetrators", "Intimate-partner perpetrators"),
    ):
        r = profile.repeats[key]
        first = next((s for s in r.next_given_k if s.k == 1), None)
        rows.append(
            [
                label,
                f"{r.rate.units:,}",
                pct(r.rate.repeat_unit_share),
                pct(r.rate.repeat_event_share),
                pct(r.rate.repeat_harm_share),
                pct(r.no_repeat_12m),
                pct(r.no_repeat_24m),
                pct(first.probability) if first else "n/a",
            ]
        )
    return _table(
        [
            "Population",
            "In the period",
            "With 2+ crimes",
            "Crimes that are repeats",
            "Harm of repeaters",
            "No repeat in 12 months",
            "No repeat in 24 months",
            "Chance of a 2nd",
        ],
        rows,
    )


def _place_table(profile: Profile) -> str:
    """Areas, then the neighbourhoods with most DA harm."""
    out = []
    for key, title in (("area", "Policing area"), ("neighbourhood", "Neighbourhood")):
        frame = profile.places[key]
        if frame.is_empty():
            continue
        rows = [
            [
                "Place not known" if r["place"] == "unknown" else str(r["place"]),
                f"{r['crimes']:,}",
                pct(r["crimes_share"]),
                num(r["harm"]),
                pct(r["harm_share"]),
            ]
            for r in frame.to_dicts()
        ]
        if key == "neighbourhood":
            title = f"Neighbourhood (the {len(rows)} with most DA harm)"
        out.append(_table([title, "DA crimes", "Share", "DA harm (days)", "Share"], rows))
    return "".join(out)


def _figure(title: str, svg: str, reading: str) -> str:
    return (
        f"<figure>{svg}<figcaption><b>{_e(title)}</b>"
        f"<span class='reading'>{_e(reading)}</span></figcaption></figure>"
    )


def render_html(profile: Profile, marking: str = DEFAULT_MARKING) -> str:
    """The whole profile as one self-contained HTML document."""
    m, r = profile.meta, profile.readings
    svgs = {spec.key: chart_svg(spec.build(profile)) for spec in CHARTS}
    figs = {spec.key: _figure(spec.title, svgs[spec.key], r[spec.reading]) for spec in CHARTS}
    when = period_words(str(m["period_start"])[:7], str(m["period_end"])[:7])
    title = f"Domestic abuse problem profile: {m['scope']}, {when}"
    findings = [
        r["power_curve"],
        r["repeat_rate"],
        r["survival"],
        r["dyads_no_repeat"],
        r["serial"],
        r["escalation"],
        r["outcomes"],
        r["board"],
    ]
    o = profile.over_recording
    meta_line = (
        f"{_e(m['force'] or 'Force')} · run {_e(m['run_id'] or '(extract)')} · extract as of "
        f"{_e(m['as_of'])} · harm: {_e(m['weights'])} · board month "
        f"{_e(month_name(str(m['board_month'])))} · chi {_e(m['chi_version'])}"
    )
    overlap = profile.overlap
    md = MarkdownIt("commonmark").enable("table")
    parts = [
        "<!DOCTYPE html>",
        "<html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>",
        f"<div class='marking'>{_e(marking)}</div>",
        *([f"<p class='notice'>{_e(profile.notice)}</p>"] if profile.notice else []),
        f"<h1>{_e(title)}</h1>",
        f"<div class='meta'>{meta_line}</div>",
        f"<p class='headline'>{_e(r['headline'])}</p>",
        (
            "<h2>What the profile reads (generated data: the generator's properties, not "
            "findings)</h2><ul class='findings'>"
            if profile.synthetic
            else "<h2>Key findings</h2><ul class='findings'>"
        ),
        *(f"<li>{_e(f)}</li>" for f in findings),
        "</ul>",
        "<h2>Trend and place</h2>",
        figs["trend"],
        figs["district"],
        _place_table(profile),
        "<h2>Concentration of harm</h2>",
        f"<p>{_e(r['power_curve_victims'])} {_e(r['power_curve_dyads'])} "
        f"{_e(r['power_curve_perpetrators'])}</p>",
        figs["power_curve"],
        figs["lorenz"],
        _concentration_table(profile),
        "<h2>Repeats</h2>",
        f"<p>{_e(r['repeat_rate'])} {_e(r['repeat_rate_victims'])}</p>",
        _repeat_table(profile),
        figs["survival"],
        figs["hazard"],
        figs["next_given_k"],
        f"<p>{_e(r['dyads_no_repeat'])} {_e(r['ipv_perpetrators'])} {_e(r['serial'])}</p>",
        "<h2>Escalation within dyads</h2>",
        figs["escalation"],
        "<h2>Victims, perpetrators and risk</h2>",
        figs["relationship"],
        figs["victim_age_sex"],
        figs["perpetrator_age_sex"],
        figs["dash"],
        f"<p>{_e(r['overlap'])} (Victims of violence: {overlap['violence_victims']:,}; DA "
        f"victims: {overlap['da_victims']:,}.)</p>",
        "<h2>Outcomes</h2>",
        figs["outcomes"],
        "<h2>Recording quality: likely duplicate recordings</h2>",
        f"<p>{_e(r['over_recording'])}</p>",
        _table(
            [
                "Audited",
                "Window",
                "Crimes audited",
                "Likely duplicates",
                "Share",
                "Harm they would add (days)",
            ],
            [
                [
                    ", ".join(o.groups) if o.groups else "all offence groups",
                    f"{o.within_days} days",
                    f"{o.crimes_audited:,}",
                    f"{o.flagged:,}",
                    pct(o.flagged_share),
                    num(o.harm_added, 1),
                ]
            ],
        ),
        "<section class='board'>",
        f"<h2>Safeguarding the Vulnerable: {_e(month_name(profile.board.month))}, "
        f"{_e(profile.board.scope)}</h2>",
        board_html(profile),
        "</section>",
        "<section class='method'><h2>Method notes</h2><div class='method'>",
        md.render(method_notes()),
        "</div><h3>Caveats</h3><ul class='caveats'>",
        *(f"<li>{_e(c)}</li>" for c in profile.caveats),
        "</ul></section>",
        f"<footer>{_e(marking)} · {meta_line} · Aggregate figures only: no personal data.</footer>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def render_json(profile: Profile) -> str:
    data: dict[str, Any] = profile.as_dict()
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


BROWSERS = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
    "msedge",
    "microsoft-edge",
)


def find_browser() -> str | None:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def html_to_pdf(document: str, timeout: float = 120) -> bytes:
    """Print the HTML to PDF with a headless Chromium or Chrome; ValueError if none."""
    browser = find_browser()
    if browser is None:
        raise ValueError("a PDF needs Chromium, Chrome or Edge installed; use the HTML instead")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "profile.html"
        out = Path(tmp) / "profile.pdf"
        src.write_text(document, encoding="utf-8")
        try:
            subprocess.run(
                [
                    browser,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--no-pdf-header-footer",
                    f"--print-to-pdf={out}",
                    src.as_uri(),
                ],
                check=True,
                capture_output=True,
                timeout=timeout,
            )
        except (subprocess.SubprocessError, OSError) as exc:
            raise ValueError(f"printing the PDF failed ({type(exc).__name__})") from None
        if not out.is_file():
            raise ValueError("printing the PDF failed (no file written)")
        return out.read_bytes()
