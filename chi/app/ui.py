"""Shared page parts: the current run, the month and neighbourhood pickers, tables, errors.

The neighbourhood picker offers only neighbourhoods within the user's scope, and whatever
value arrives (a widget, a query parameter, a hand-edited session) is turned into a scope
with ``chi.reading.lists.narrow``, which can only make the user's scope smaller. Query parameters
(``month``, ``nb``) make a list linkable, and are checked like any other input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import duckdb
import polars as pl
import streamlit as st

from chi.app.context import PageContext
from chi.exports import listview
from chi.reading.lists import Scope, narrow, neighbourhoods
from chi.scoring.runs import Run, RunError, latest_run_id, list_runs, open_current
from chi.state.auth import Role, User

ALL = "*"

# The columns the list pages share, drawn alike wherever a list shows them (title, pixel
# width, format); the victim, offender and person pages key them by their own column names.
LIST_COLUMNS: dict[str, Any] = {
    "Name": st.column_config.TextColumn("Name", width=150),
    "Person id": st.column_config.TextColumn("Person id", width=95),
    "New or continuing": st.column_config.TextColumn("New or continuing", width=130),
    "Reasons": st.column_config.TextColumn("Reasons", width=250),
    "Harm (days)": st.column_config.NumberColumn("Harm (days)", format="%.2f", width=95),
    "Crimes": st.column_config.NumberColumn("Crimes", width=65),
    "DA crimes": st.column_config.NumberColumn("DA crimes", width=85),
    "Age": st.column_config.NumberColumn("Age", width=50),
    "Latest crime": st.column_config.DateColumn("Latest crime", format="YYYY-MM-DD", width=105),
    "Neighbourhood": st.column_config.TextColumn("Neighbourhood", width=140),
    "Force rank": st.column_config.NumberColumn("Force rank", width=85),
}


class NoRun(Exception):
    """There is no published run to show."""


def current_run(ctx: PageContext, drafts: bool = True) -> Run:
    """The current run, the one every user reads (read afresh on each rerun, so a run made
    current shows at once). Analysts may pick another run (a draft, or an earlier run) in
    the sidebar, unless ``drafts`` is False (pages that record decisions)."""
    runs_dir = ctx.config.runs_dir
    try:
        run = open_current(runs_dir)
    except RunError as exc:
        raise NoRun(str(exc)) from None
    if not drafts or ctx.user.role is not Role.ANALYST:
        return run
    try:
        others = [r for r in reversed(list_runs(runs_dir)) if r.run_id != run.run_id]
    except RunError:
        others = []
    if not others:
        return run
    by_id = {r.run_id: r for r in [run, *others]}
    options = list(by_id)
    st.session_state["run_pick"] = _first_valid(
        options, st.session_state.get("run_pick"), st.session_state.get("chi_run")
    )
    latest = latest_run_id(runs_dir)

    def label(run_id: str) -> str:
        if run_id == run.run_id:
            return f"{run_id} (current)"
        return f"{run_id} ({'draft' if run_id == latest else 'not current'})"

    chosen: str = st.sidebar.selectbox("Run (analysts)", options, key="run_pick", format_func=label)
    st.session_state["chi_run"] = chosen
    if chosen != run.run_id:
        st.warning(
            f"You are looking at run {chosen}, which is not the current run: only analysts see "
            "it. Make it current on the Runs page (after its diff) for everyone to read it."
        )
    return by_id[chosen]


def no_run_page(ctx: PageContext, reason: str) -> None:
    st.title("No lists yet")
    st.info(
        "There is no published scoring run to show. Lists appear here once a run has "
        "been scored and published."
    )
    if ctx.user.role is Role.ANALYST:
        st.write(
            f"Runs folder: `{ctx.config.runs_dir}`. Score an extract with "
            "`chi score EXTRACT --out RUNS`, or start a run from the **Runs** page once an "
            "extract is configured (`app.extract_dir`)."
        )
        st.caption(reason)
    else:
        st.write("Please ask your analyst team when the next lists will be published.")


@contextmanager
def guarded(ctx: PageContext) -> Iterator[None]:
    """Show a clear page, not a traceback, when the run is missing or incomplete."""
    try:
        yield
    except NoRun as exc:
        no_run_page(ctx, str(exc))
    except (RunError, duckdb.IOException) as exc:
        st.title("This run cannot be read")
        st.error(
            "Part of the published run is missing or damaged, so its lists cannot be shown. "
            "The problem has been recorded; please tell your analyst team if it persists."
        )
        ctx.record("run_unreadable", detail=type(exc).__name__)


def require(ctx: PageContext, page: str) -> None:
    """Refuse a page outside the user's role (the navigation never offers one)."""
    if not ctx.user.may_open(page):
        st.error("This page is not available for your role.")
        ctx.record("page_refused", detail=page)
        st.stop()


def run_caption(run: Run) -> None:
    m = run.manifest
    pol = m.policy
    st.caption(
        f"Run {run.run_id} · created {m.created_at} · extract as of {m.extract.as_of} "
        f"· {m.weights.name} · window {pol['window_months']} months, "
        f"harm ≥ {pol['min_harm']} days or crimes ≥ {pol['min_crimes']}"
    )


def pick_month(run: Run) -> str:
    """The list month (default: the latest complete month of the run), in the sidebar."""
    months = list(reversed(run.manifest.months))
    if not months:
        raise NoRun(f"run {run.run_id} has no list months")
    st.session_state["month"] = _first_valid(
        months,
        st.session_state.get("month"),
        st.session_state.get("chi_month"),
        st.query_params.get("month"),
    )
    partial = set(run.manifest.partial_months)
    month: str = st.sidebar.selectbox(
        "Month",
        months,
        key="month",
        format_func=lambda m: f"{m} (partial window)" if m in partial else m,
    )
    st.session_state["chi_month"] = month
    st.query_params["month"] = month
    return month


def _first_valid(options: list[str], *candidates: object) -> str:
    """The first candidate that is one of ``options``, else the first option.

    The widget's own value comes first; widget values do not survive a change of page, so
    each picker also keeps a copy (``chi_month``, ``chi_nb``); then the URL's query parameter
    (a shared link). Anything else is ignored."""
    return next((str(c) for c in candidates if c in options), options[0])


def _names() -> dict[str, str]:
    nb = neighbourhoods()
    return dict(zip(nb["neighbourhood_code"], nb["neighbourhood_name"], strict=True))


def scope_options(user: User) -> list[str]:
    """``ALL`` (the user's whole scope) and each neighbourhood within it, by name."""
    names = _names()
    if user.scope.force_wide:
        codes = [*sorted(names, key=lambda c: names[c]), "unknown"]
    else:
        codes = sorted(user.scope.neighbourhoods, key=lambda c: names.get(c, c))
    return codes if len(codes) == 1 else [ALL, *codes]


def pick_scope(user: User) -> Scope:
    """The neighbourhood to show, as a scope never wider than the user's."""
    options = scope_options(user)
    names = _names()
    st.session_state["nb"] = _first_valid(
        options,
        st.session_state.get("nb"),
        st.session_state.get("chi_nb"),
        st.query_params.get("nb"),
    )

    def label(code: str) -> str:
        if code == ALL:
            return "Force-wide" if user.scope.force_wide else f"All of {user.scope.label}"
        return f"{names.get(code, code)} ({code})" if code != "unknown" else "Unknown place"

    value: str = st.sidebar.selectbox("Neighbourhood", options, key="nb", format_func=label)
    st.session_state["chi_nb"] = value
    st.query_params["nb"] = value
    if value == ALL:
        return user.scope
    scope = narrow(user.scope, [value])
    return Scope.of(scope.neighbourhoods, label=label(value))


def reasons_text(
    frame: pl.DataFrame, column: str = "reasons", words: dict[str, str] | None = None
) -> pl.DataFrame:
    """Reason codes as words (``words``, else the code with spaces), joined with commas."""
    if column not in frame.columns:
        return frame
    element = pl.element().replace(words) if words else pl.element()
    return frame.with_columns(
        pl.col(column).list.eval(element.str.replace_all("_", " ")).list.join(", ")
    )


def money(days: object) -> str:
    try:
        return f"{float(str(days)):,.1f}"
    except ValueError:
        return str(days)


def table_height(rows: int, most: int = 640) -> int:
    """A table tall enough for its rows, up to ``most`` pixels (then it scrolls)."""
    return min(38 + 35 * max(rows, 1), most)


def list_filters(
    key: str, reasons: dict[str, str], size: int | None = None, total: int = 0
) -> tuple[bool, tuple[str, ...], str | None]:
    """The filters of a list page: the list to act on or everyone listed (when the list has a
    size), reasons (all of those chosen), new or continuing. Returns (everyone, reasons,
    status)."""
    everyone = False
    if size is not None:
        show_col, reason_col, status_col = st.columns([2, 3, 1.2])
        label = f"First {size} per neighbourhood" if size else "Everyone (no list size)"
        choice = show_col.radio(
            "Show",
            ["sized", "everyone"],
            format_func=lambda v: label if v == "sized" else f"Everyone listed ({total})",
            horizontal=True,
            key=f"{key}_show",
        )
        everyone = choice == "everyone"
    else:
        reason_col, status_col = st.columns([3, 1.2])
    chosen = reason_col.multiselect(
        "Reasons (all of)",
        list(reasons),
        format_func=lambda r: reasons[r],
        key=f"{key}_reasons",
        placeholder="any reason",
    )
    status = status_col.selectbox(
        "New or continuing",
        ["all", "new", "continuing"],
        key=f"{key}_status",
    )
    return everyone, tuple(chosen), None if status == "all" else str(status)


def partial_notice(run: Run, month: str) -> None:
    """A warning on any page showing a month scored with a partial window."""
    if month in (run.manifest.partial_months):
        w = run.manifest.policy["window_months"]
        st.warning(
            f"Partial window: {month}'s {w}-month window starts before the extract's first "
            f"month ({run.manifest.first_month}), so this list holds only part of a "
            "window and is not comparable with later months."
        )


ScopedBody = Callable[[PageContext, Run, str, Scope], None]


def scoped_page(ctx: PageContext, page: str, body: ScopedBody) -> None:
    """A page of one month's lists in a scope: the role check, the run, the month and
    neighbourhood pickers, then ``body``; a clear page, not a traceback, when the run is
    missing or cannot be read."""
    require(ctx, page)
    with guarded(ctx):
        run = current_run(ctx)
        month = pick_month(run)
        scope = pick_scope(ctx.user)
        body(ctx, run, month, scope)


def list_heading(
    ctx: PageContext, run: Run, month: str, scope: Scope, event: str, title: str, rows: int
) -> None:
    """A list page's top: the view audited once (with its row count), the title naming the
    scope, the run's details and any partial-window warning."""
    ctx.record_once(event, run_id=run.run_id, month=month, scope=scope.key, rows=rows)
    st.title(f"{title}: {scope.label}")
    run_caption(run)
    partial_notice(run, month)


def reasons_table(
    frame: pl.DataFrame,
    key: str,
    words: dict[str, str],
    columns: dict[str, Any],
    empty: str,
    none: str,
) -> None:
    """A list with its reason and status filters, the reasons in words, in ``columns``
    (``empty``: what to say when the list is empty; ``none``: when no row matches the
    filters)."""
    if frame.is_empty():
        st.info(empty)
        return
    _, reasons, status = list_filters(key, words)
    shown = listview.filtered(frame, reasons, status)
    if shown.is_empty():
        st.info(none)
        return
    st.dataframe(
        reasons_text(shown, words=words).select(list(columns)),
        height=table_height(shown.height),
        column_config=columns,
        hide_index=True,
        width="stretch",
    )


Download = tuple[str, Callable[[], bytes], str, str, str]
"""A download button: label, the function that builds the file (checked and audited when
it runs), file name, media type, widget key."""


def download_row(downloads: Sequence[Download], widths: Sequence[float] | None = None) -> None:
    """Download buttons side by side (in columns of these relative ``widths``, the last ones
    left empty, or of equal width). Each file is built only when its button is clicked, and
    the click does not rerun the page."""
    columns = st.columns(list(widths) if widths else len(downloads))[: len(downloads)]
    for column, (label, build, name, mime, key) in zip(columns, downloads, strict=True):
        with column:
            st.download_button(
                label, data=build, file_name=name, mime=mime, on_click="ignore", key=key
            )
