"""Export a list, a meeting pack or a review as CSV, XLSX or PDF: one small module with a
registry of formats (``FORMATS``: name -> media type and writer). Every writer has the one
signature ``write(Document, ExportMeta) -> bytes``; the app's downloads, ``chi export``, the
meeting pack and the impact review all go through :func:`export`.

Every format carries the run id and the handling marking; XLSX (a metadata sheet) and PDF
(the first page) carry all of the run's metadata (weight set, policy, extract as-of,
created), so a printed or forwarded list always says where it came from. The CSV keeps its
header on the first line, so it opens sorted and filtered in Excel and imports into Power BI
as it is: the run id and marking are two final columns of every row. XLSX sheets have an
autofilter, frozen headers, widths from their content and print settings (landscape A4,
fitted to the width, headers repeated, the marking on every page). Any text cell a
spreadsheet could execute as a formula is neutralised with a leading apostrophe (OWASP ASVS
5.0 V1.2.10: a leading ``=``, ``+``, ``-``, ``@``, control character, or any of these in
full-width form or after spaces or invisible format characters); a CSV field that holds a
list separator is quoted, so ``x;=1+1`` stays one cell in any locale; and XLSX cells are
written as typed values, never as formulas. An empty list still gives a valid file with its
header, so "nobody is listed" is distinguishable from "the export failed".
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import polars as pl

from chi.scoring.manifest import Manifest
from chi.settings import HANDLING_MARKING

# Spreadsheet formula injection (OWASP ASVS 5.0 V1.2.10): a cell is a formula when its first
# character, after anything a spreadsheet skips or folds, is one of these. Full-width and
# small forms (＝＋－＠, ﹦﹢﹣﹫) and superscripts fold to them under NFKC; the minus sign
# U+2212 is taken as a minus as well.
_TRIGGERS = frozenset("=+-@\u2212")
# Characters that can stand before a trigger without showing: spaces and other separators,
# control characters (NUL, tab, line feed, carriage return) and format characters
# (zero-width space and joiners, bidirectional marks, the byte order mark).
_SKIPPED = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf"})
# List separators a spreadsheet may split a CSV field at, depending on the reader's locale.
_SEPARATORS = frozenset(",;\t|")
_SPLITS = _SEPARATORS | {"\r", "\n"}


def _is_trigger(ch: str) -> bool:
    return ch in _TRIGGERS or unicodedata.normalize("NFKC", ch)[:1] in _TRIGGERS


def _formula_like(text: str) -> bool:
    """Whether a spreadsheet could take ``text`` for a formula: it starts with a control
    character, or its first character that shows is a trigger (full-width or not)."""
    if not text:
        return False
    if unicodedata.category(text[0]) == "Cc":
        return True
    for ch in text:
        if unicodedata.category(ch) in _SKIPPED or ch.isspace():
            continue
        return _is_trigger(ch)
    return False


def formula_after_separator(text: str) -> bool:
    """Whether a part of ``text`` after a list separator or line break (``x;=1+1``) would
    start a formula if a spreadsheet split the field there (quotes at the start of such a
    part are read as CSV quoting, not as text, so they do not hide what follows)."""
    return any(
        ch in _SPLITS and _formula_like(text[i + 1 :].lstrip('"')) for i, ch in enumerate(text)
    )


def _guard_splits(text: str) -> str:
    """``text`` with an apostrophe after each separator or line break that a formula would
    follow: a reader whose list separator is ``;`` splits ``"x;=1+1"`` at the ``;`` whatever
    the quotes (they count only at the start of its cell), so quoting alone is not enough."""
    if not formula_after_separator(text):
        return text
    out = []
    for i, ch in enumerate(text):
        out.append(ch)
        if ch in _SPLITS and _formula_like(text[i + 1 :].lstrip('"')):
            out.append("'")
    return "".join(out)


def neutralise(value: Any) -> Any:
    """A text value made safe to open in a spreadsheet (a leading apostrophe before anything
    that could start a formula); other values unchanged."""
    if isinstance(value, str) and _formula_like(value):
        return "'" + value
    return value


def _csv_field(text: str) -> str:
    """One CSV field (RFC 4180): an apostrophe before any formula after a separator, then
    quoted when it holds a quote, a line break or any list separator."""
    text = _guard_splits(text)
    if any(c in text for c in '"\r\n') or any(c in _SEPARATORS for c in text):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_line(fields: list[str]) -> str:
    return ",".join(_csv_field(f) for f in fields) + "\r\n"


@dataclass(frozen=True)
class ExportMeta:
    title: str
    run_id: str
    weights: str
    policy: str
    extract_as_of: str
    run_created: str
    month: str
    scope: str
    exported_by: str = ""
    exported_at: str = ""
    marking: str = HANDLING_MARKING
    window: str = ""
    """For a list month: ``whole`` or ``partial`` (its window starts before the extract, so
    the list holds only part of a window); empty for files that are not a month's list."""

    def rows(self) -> list[tuple[str, str]]:
        return [
            ("handling", self.marking),
            ("list", self.title),
            ("month", self.month),
            *([("window", WINDOW_WORDS.get(self.window, self.window))] if self.window else []),
            ("scope", self.scope),
            ("run id", self.run_id),
            ("weight set", self.weights),
            ("policy", self.policy),
            ("extract as of", self.extract_as_of),
            ("run created", self.run_created),
            ("exported by", self.exported_by),
            ("exported at", self.exported_at),
        ]

    @classmethod
    def from_manifest(
        cls,
        manifest: Manifest,
        *,
        title: str,
        month: str,
        scope: str,
        exported_by: str = "",
        exported_at: datetime | None = None,
    ) -> ExportMeta:
        pol = manifest.policy
        w = manifest.weights
        return cls(
            title=title,
            run_id=manifest.run_id,
            weights=f"{w.name} {w.version} (sha256 {w.sha256[:12]})",
            policy=(
                f"window {pol['window_months']} months; harm >= {pol['min_harm']} days "
                f"or crimes >= {pol['min_crimes']}"
                + (f"; exclusions: {'; '.join(pol['exclusions'])}" if pol["exclusions"] else "")
                + (
                    f"; list size {pol['list_size'] or 'unlimited'} per neighbourhood; "
                    f"specialist teams: {pol.get('specialist_rule', 'none')}"
                    if "list_size" in pol
                    else ""
                )
            ),
            extract_as_of=manifest.extract.as_of,
            run_created=manifest.created_at,
            month=month,
            scope=scope,
            exported_by=exported_by,
            exported_at=(exported_at or datetime.now()).strftime("%Y-%m-%d %H:%M"),
            window=(
                ""
                if not month or month not in manifest.months
                else "partial"
                if month in manifest.partial_months
                else "whole"
            ),
        )


WINDOW_WORDS = {
    "whole": "whole window",
    "partial": "PARTIAL WINDOW: it starts before the extract, so this list is not comparable "
    "with later months",
}


@dataclass(frozen=True, eq=False)
class Document:
    """What a file holds, whatever its format: a list (``whole``, the table as shown, split
    into a sheet or section per value of ``split_by``), titled tables in order
    (``sections``: a meeting pack, a review), or both. ``empty_text`` is what an empty
    section says; ``intro`` is printed before the tables (PDF)."""

    whole: pl.DataFrame | None = None
    split_by: str | None = None
    sections: tuple[tuple[str, pl.DataFrame], ...] = ()
    empty_text: str = "None."
    intro: str = ""

    def parts(self, frame: pl.DataFrame, drop: bool) -> list[tuple[str, pl.DataFrame]]:
        """``frame`` split by ``split_by`` in order of first appearance (the column left
        out with ``drop``); nothing when there is no such column or no row."""
        col = self.split_by
        if not col or col not in frame.columns or frame.is_empty():
            return []
        out = []
        for value in frame[col].unique(maintain_order=True).to_list():
            part = frame.filter(pl.col(col) == value)
            out.append((str(value), part.drop(col) if drop else part))
        return out


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value)
    return neutralise(value)


def _text(value: Any) -> str:
    v = _cell(value)
    if v is None:
        return ""
    if isinstance(v, Decimal):
        return f"{v:.2f}"
    if isinstance(v, date | datetime):
        return v.isoformat()
    return str(v)


CSV_TRAILING = ("Run", "Handling")


def _csv(frame: pl.DataFrame, meta: ExportMeta) -> bytes:
    """CSV that opens sorted and filtered in Excel and imports into Power BI as it is: the
    header on the first line, one row per person, and the run id and handling marking in two
    final columns of every row, after a Window column (``whole`` or ``partial``) for a
    month's list (the full run details are in the XLSX and PDF). An empty list is the header
    alone."""
    buf = io.StringIO()
    window = ("Window",) if meta.window else ()
    buf.write(_csv_line([neutralise(c) for c in (*frame.columns, *window, *CSV_TRAILING)]))
    tail = [*([meta.window] if meta.window else []), _text(meta.run_id), _text(meta.marking)]
    for row in frame.iter_rows():
        buf.write(_csv_line([*(_text(v) for v in row), *tail]))
    return buf.getvalue().encode("utf-8-sig")


_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def _sheet_name(name: str, used: set[str]) -> str:
    base = _SHEET_BAD.sub(" ", name).strip("'")[:31] or "sheet"
    candidate, n = base, 2
    while candidate.lower() in used:
        suffix = f" ({n})"
        candidate, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(candidate.lower())
    return candidate


def _write_rows(ws: Any, part: pl.DataFrame, datefmt: Any, decfmt: Any = None) -> None:
    """The table's rows from the third row on, each cell as a typed value (numbers, dates,
    booleans, text with formulas neutralised), never as a formula."""
    for r, row in enumerate(part.iter_rows(), start=2):
        for c, v in enumerate(row):
            v = _cell(v)
            if v is None:
                ws.write_blank(r, c, None)
            elif isinstance(v, bool):
                ws.write_boolean(r, c, v)
            elif isinstance(v, Decimal):
                ws.write_number(r, c, float(v), decfmt)
            elif isinstance(v, int | float):
                ws.write_number(r, c, float(v))
            elif isinstance(v, datetime | date):
                ws.write_datetime(r, c, datetime(v.year, v.month, v.day), datefmt)
            else:
                ws.write_string(r, c, str(v))


def _width(name: str, values: list[Any]) -> float:
    longest = max([len(name), *(len(_text(v)) for v in values[:500])])
    return float(min(max(longest + 2, 8), 50))


def _sheet(wb: Any, title: str, part: pl.DataFrame, meta: ExportMeta, used: set[str]) -> Any:
    """A sheet of a list: the marking in the first row, bold headers in the second, then the
    rows; autofilter and frozen headers; widths from the content; printed landscape on A4,
    fitted to the page width, with the headers repeated and the marking on every page."""
    bold = wb.add_format({"bold": True})
    head = wb.add_format({"bold": True, "bg_color": "#E1E1E1", "bottom": 1, "text_wrap": True})
    datefmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    decfmt = wb.add_format({"num_format": "0.00"})
    ws = wb.add_worksheet(_sheet_name(title, used))
    ws.write_string(0, 0, meta.marking, bold)
    for c, name in enumerate(part.columns):
        ws.write_string(1, c, name, head)
        ws.set_column(c, c, _width(name, part[name].to_list()))
    _write_rows(ws, part, datefmt, decfmt)
    if part.width:
        ws.autofilter(1, 0, max(part.height + 1, 1), part.width - 1)
    ws.freeze_panes(2, 0)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0, 1)
    marking = meta.marking.replace("&", "&&")
    ws.set_header(f"&C&B{marking}")
    ws.set_footer(f"&L{meta.run_id.replace('&', '&&')}&C&B{marking}&RPage &P of &N")
    return ws


def _metadata_sheet(wb: Any, meta: ExportMeta, used: set[str]) -> None:
    bold = wb.add_format({"bold": True})
    info = wb.add_worksheet(_sheet_name("run metadata", used))
    for r, (k, v) in enumerate(meta.rows()):
        info.write_string(r, 0, k, bold)
        info.write_string(r, 1, _text(v))
    info.set_column(0, 0, 16)
    info.set_column(1, 1, 80)


def write_xlsx(doc: Document, meta: ExportMeta) -> bytes:
    """XLSX: a sheet of everyone in ``doc.whole`` in its order, then (with ``split_by``, e.g.
    the neighbourhood) one sheet per value in order of first appearance, then a sheet per
    section (an empty one with its header and ``empty_text``), then the run metadata."""
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False})
    used: set[str] = set()
    if doc.whole is not None:
        frame = doc.whole
        _sheet(wb, "Everyone", frame, meta, used)
        for value, part in doc.parts(frame, drop=False):
            _sheet(wb, value, part, meta, used)
    for title, part in doc.sections:
        ws = _sheet(wb, title, part, meta, used)
        if part.is_empty():
            ws.write_string(2, 0, doc.empty_text)
    _metadata_sheet(wb, meta, used)
    wb.close()
    return buf.getvalue()


# The printable briefing (PDF): the list as a table for an area meeting or a briefing pack,
# marked at the top and bottom of every page, with the run's metadata on the first page.
# PDF core fonts cover Latin-1 only: other characters are transliterated where there is a
# plain form (Ł -> L) and otherwise shown as "?", and the briefing says so, pointing to the
# CSV or XLSX for the exact text.

_PLAIN: dict[int, str] = {
    ord(a): b for a, b in zip("ŁłĐđĦħıſ‘’‚“”„–—•\u00a0", "LlDdHhis'''\"\"\"--* ", strict=True)
} | {ord("Œ"): "OE", ord("œ"): "oe", ord("…"): "...", ord("€"): "EUR"}


def latin1(text: str) -> tuple[str, bool]:
    """``text`` in Latin-1 for a PDF core font, and whether anything had to be replaced."""
    import unicodedata

    try:
        text.encode("latin-1")
        return text, False
    except UnicodeEncodeError:
        pass
    out = []
    for ch in text.translate(_PLAIN):
        try:
            ch.encode("latin-1")
            out.append(ch)
        except UnicodeEncodeError:
            base = unicodedata.normalize("NFKD", ch).encode("latin-1", "ignore").decode("latin-1")
            out.append(base if base.strip() else "?")
    return "".join(out), True


def _pdf_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v).replace("_", " ") for v in value)
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else ""
    return str(value)


_NEXT_LINE: dict[str, Any] = {"new_x": "LMARGIN", "new_y": "NEXT"}


def _fitted_widths(part: pl.DataFrame, page_mm: float, mm_per_char: float = 1.5) -> list[float]:
    """Column widths (mm) that keep short columns on one line: each column as wide as its
    longest value or header word (at most 40 characters); when the page is too narrow, only
    the wide columns give way, in proportion."""
    natural = []
    for c in part.columns:
        word = max(len(w) for w in c.split("_"))
        longest = max([word, *(len(_pdf_text(v)) for v in part[c].to_list()[:200])])
        natural.append(min(max(longest, 3), 40) * mm_per_char + 2)
    narrow = sum(w for w in natural if w <= 20)
    wide = sum(w for w in natural if w > 20)
    if narrow + wide <= page_mm or wide == 0:
        return natural
    scale = max(page_mm - narrow, 0.3 * wide) / wide
    return [w if w <= 20 else w * scale for w in natural]


def _first_page(pdf: Any, meta: ExportMeta, intro: str, clean: Callable[[Any], str]) -> None:
    """The title, the run's metadata (but the marking and list, on every page anyway) and
    ``intro``."""
    pdf.add_page()
    pdf.set_font("helvetica", "B", 15)
    pdf.multi_cell(0, 8, clean(f"{meta.title}: {meta.scope}, {meta.month}"), **_NEXT_LINE)
    pdf.ln(1)
    for k, v in meta.rows():
        if k in ("handling", "list"):
            continue
        pdf.set_font("helvetica", "B", 8)
        pdf.cell(28, 4.5, clean(k))
        pdf.set_font("helvetica", "", 8)
        pdf.multi_cell(0, 4.5, clean(v), new_x="LMARGIN", new_y="NEXT")
    if intro:
        pdf.ln(2)
        pdf.set_font("helvetica", "", 9)
        pdf.multi_cell(0, 5, clean(intro), **_NEXT_LINE)


def _pdf_section(
    pdf: Any,
    title: str,
    part: pl.DataFrame,
    empty_text: str,
    clean: Callable[[Any], str],
    heading: Any,
) -> None:
    """A titled table (headings repeated on each page it runs onto), or ``empty_text``."""
    pdf.ln(4)
    if pdf.will_page_break(25):
        pdf.add_page()
    pdf.set_font("helvetica", "B", 11)
    pdf.multi_cell(0, 7, clean(title), **_NEXT_LINE)
    if part.is_empty():
        pdf.set_font("helvetica", "", 9)
        pdf.multi_cell(0, 5, clean(empty_text), **_NEXT_LINE)
        return
    pdf.set_font("helvetica", "", 7)
    with pdf.table(
        col_widths=_fitted_widths(part, pdf.epw),
        headings_style=heading,
        line_height=3.6,
        text_align="LEFT",
        padding=0.8,
        repeat_headings=1,
    ) as t:
        head = t.row()
        for c in part.columns:
            head.cell(clean(c.replace("_", " ")))
        for values in part.iter_rows():
            row = t.row()
            for v in values:
                row.cell(clean(v))


def write_pdf(doc: Document, meta: ExportMeta) -> bytes:
    """A printable document of titled tables in order: marking on every page, the run's
    metadata and ``intro`` on the first, then ``doc.whole`` (a section per value of
    ``split_by``, that column left out) and each section: its table, or ``empty_text``."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    replaced = False

    def clean(value: Any) -> str:
        nonlocal replaced
        text, changed = latin1(_pdf_text(value))
        replaced = replaced or changed
        return text

    marking = clean(meta.marking)

    class Pack(FPDF):
        def header(self) -> None:
            self.set_font("helvetica", "B", 10)
            self.cell(0, 6, marking, align="C", new_x="LMARGIN", new_y="NEXT")
            self.ln(2)

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("helvetica", "B", 9)
            self.cell(0, 5, marking, align="C", new_x="LMARGIN", new_y="NEXT")
            self.set_font("helvetica", "", 7)
            self.cell(0, 4, f"{clean(meta.run_id)}  page {self.page_no()} of {{nb}}", align="C")

    pdf = Pack(orientation="landscape", unit="mm", format="A4")
    pdf.set_title(clean(f"{meta.title} {meta.month} {meta.scope}"))
    pdf.set_creator("chi")
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.alias_nb_pages()
    _first_page(pdf, meta, doc.intro, clean)
    heading = FontFace(emphasis="BOLD", fill_color=(225, 225, 225))
    sections = list(doc.sections)
    if doc.whole is not None:
        split = doc.parts(doc.whole, drop=True)
        sections = [*(split or [(meta.title, doc.whole)]), *sections]
    empty_text = doc.empty_text
    for title, part in sections:
        _pdf_section(pdf, f"{title} ({part.height})", part, empty_text, clean, heading)
    if replaced:
        pdf.ln(3)
        pdf.set_font("helvetica", "I", 7)
        pdf.multi_cell(
            0,
            4,
            "Some characters cannot be printed here and are shown as '?' or in a plain form; "
            "the CSV and XLSX downloads hold the exact text.",
            **_NEXT_LINE,
        )
    return bytes(pdf.output())


def write_csv(doc: Document, meta: ExportMeta) -> bytes:
    """CSV holds one table: ``doc.whole``, or the document's only section."""
    if doc.whole is not None and not doc.sections:
        return _csv(doc.whole, meta)
    if doc.whole is None and len(doc.sections) == 1:
        return _csv(doc.sections[0][1], meta)
    raise ValueError("a CSV file holds one table; choose xlsx or pdf for this document")


Writer = Callable[[Document, ExportMeta], bytes]


@dataclass(frozen=True)
class Format:
    name: str
    media_type: str
    write: Writer


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("csv", "text/csv", write_csv),
        Format(
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            write_xlsx,
        ),
        Format("pdf", "application/pdf", write_pdf),
    )
}
"""The export registry: every file chi lets data leave in, by format name. Each writer takes
a :class:`Document` and the run's :class:`ExportMeta`, and zero rows still give a valid file
(the CSV its header, the XLSX its header row, the PDF a line saying so)."""


def export_format(fmt: str, allowed: Iterable[str] | None = None) -> Format:
    """The registered format ``fmt`` (one of ``allowed``, when given), or a ``ValueError``
    naming the choices."""
    names = [n for n in FORMATS if allowed is None or n in allowed]
    if fmt not in names:
        raise ValueError(f"unknown export format {fmt!r}; choose {', '.join(names)}")
    return FORMATS[fmt]


def export(doc: Document, meta: ExportMeta, fmt: str) -> bytes:
    """``doc`` as a file in format ``fmt`` (``csv``, ``xlsx`` or ``pdf``)."""
    return export_format(fmt).write(doc, meta)
