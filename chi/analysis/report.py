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

import json
import re
import shutil
import subprocess
import tempfile
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from chi.analysis.board import BOARD_COLUMNS, display_rows
from chi.analysis.document import Profile
from chi.analysis.readings import month_name, num, pct, period_words

if TYPE_CHECKING:
    import altair as alt
    import jinja2

DEFAULT_MARKING = "OFFICIAL"


@cache
def method_notes() -> str:
    """The method notes (Markdown) printed in every report."""
    return resources.files("chi.analysis").joinpath("method.md").read_text(encoding="utf-8")


def _vl_version() -> str:
    import altair as alt

    m = re.match(r"v?(\d+)\.(\d+)", alt.SCHEMA_VERSION)
    return f"{m.group(1)}.{m.group(2)}" if m else "6.4"


def chart_svg(chart: alt.Chart | alt.LayerChart) -> str:
    """An Altair chart as inline SVG markup (rendered offline by vl-convert)."""
    import vl_convert

    spec = chart.to_dict(validate=False)
    svg: str = vl_convert.vegalite_to_svg(spec, vl_version=_vl_version())
    svg = re.sub(r"^<\?xml[^>]*>\s*", "", svg)
    return re.sub(r'(<svg[^>]*?) width="[\d.]+" height="[\d.]+"', r"\1", svg, count=1)


def _concentration_rows(profile: Profile) -> list[list[str]]:
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
    return rows


def _repeat_rows(profile: Profile) -> list[list[str]]:
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
    return rows


def _place_tables(profile: Profile) -> list[tuple[str, list[list[str]]]]:
    """Areas, then the neighbourhoods with most DA harm: (title, rows) of each."""
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
        out.append((title, rows))
    return out


def _over_recording_row(profile: Profile) -> list[str]:
    o = profile.over_recording
    return [
        ", ".join(o.groups) if o.groups else "all offence groups",
        f"{o.within_days} days",
        f"{o.crimes_audited:,}",
        f"{o.flagged:,}",
        pct(o.flagged_share),
        num(o.harm_added, 1),
    ]


def _board_classes(profile: Profile) -> list[list[str]]:
    """The board's cells marked ``Higher`` or ``Lower`` against one and three years ago."""
    return [
        ["", "", "", "", "", r.versus_1y or "", r.versus_3y or "", "", "", ""]
        for r in profile.board.rows
    ]


@cache
def _template() -> jinja2.Template:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("chi.analysis", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["commas"] = lambda v: f"{v:,}"
    return env.get_template("report.html.j2")


@cache
def _css() -> str:
    return resources.files("chi.analysis").joinpath("templates/report.css").read_text("utf-8")


def render_html(profile: Profile, marking: str = DEFAULT_MARKING) -> str:
    """The whole profile as one self-contained HTML document (``templates/report.html.j2``).
    Altair, the charts and the template engine are imported here, not with the module: the
    JSON of ``render_json`` needs none of them."""
    from markdown_it import MarkdownIt

    from chi.analysis.charts import CHARTS

    m, r = profile.meta, profile.readings
    figures = {
        spec.key: {
            "title": spec.title,
            "svg": Markup(chart_svg(spec.build(profile))),
            "reading": r[spec.reading],
        }
        for spec in CHARTS
    }
    when = period_words(str(m["period_start"])[:7], str(m["period_end"])[:7])
    meta_line = (
        f"{m['force'] or 'Force'} · run {m['run_id'] or '(extract)'} · extract as of "
        f"{m['as_of']} · harm: {m['weights']} · board month "
        f"{month_name(str(m['board_month']))} · chi {m['chi_version']}"
    )
    findings = ["power_curve", "repeat_rate", "survival", "dyads_no_repeat", "serial"]
    findings += ["escalation", "outcomes", "board"]
    md = MarkdownIt("commonmark").enable("table")
    return _template().render(
        title=f"Domestic abuse problem profile: {m['scope']}, {when}",
        css=Markup(_css()),
        marking=marking,
        notice=profile.notice,
        synthetic=profile.synthetic,
        meta_line=meta_line,
        r=r,
        findings=[r[k] for k in findings],
        figures=figures,
        places=_place_tables(profile),
        concentration=_concentration_rows(profile),
        repeats=_repeat_rows(profile),
        overlap=profile.overlap,
        over_recording=_over_recording_row(profile),
        board=profile.board,
        board_month=month_name(profile.board.month),
        board_columns=list(BOARD_COLUMNS),
        board_rows=display_rows(profile.board),
        board_classes=_board_classes(profile),
        method=Markup(md.render(method_notes())),
        caveats=profile.caveats,
    )


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
