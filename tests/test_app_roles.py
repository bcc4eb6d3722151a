"""Each role in the app (AppTest): what it sees, that pages outside the role cannot be reached,
and that a neighbourhood user gets only their neighbourhoods' rows whatever query
parameters, widget values or session values are tried."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import polars as pl
import pytest
from app_fixtures import (
    ABBEY,
    ARBURY,
    CASTLE,
    CENTRAL,
    NORTH,
    PAGE_PATHS,
    SOUTH,
    AppEnv,
    app_test,
    goto,
    make_app_env,
    registered_pages,
    shared_fixture,
    table,
)

from chi.app.server import APP_SCRIPT
from chi.offences import groups_of
from chi.reading.lists import Scope, offender_list, victim_list
from chi.scoring.runs import Run, open_run
from chi.state.store import Store

MONTH = "2024-12"
ALL_PAGES = set(PAGE_PATHS)
ROLE_PAGES = {
    "sergeant": {"victims", "person"},
    "north": {"victims", "person", "offenders", "dyads", "profile", "meeting", "impact"},
    "analyst": {
        "victims",
        "person",
        "offenders",
        "dyads",
        "profile",
        "meeting",
        "impact",
        "backtest",
        "runs",
        "quality",
    },
    "admin": {"audit", "users"},
}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppEnv]:
    app_env = make_app_env(tmp_path_factory.mktemp("roles"), shared_fixture(tmp_path_factory))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CHI_CONFIG", str(app_env.config))
        yield app_env


@pytest.fixture(scope="module")
def run(env: AppEnv) -> Run:
    return open_run(env.fixture.runs_dir)


def listed(run: Run, codes: set[str], month: str = MONTH) -> set[str]:
    return set(victim_list(run, month, Scope.of(codes))["person_id"])


def titles(at: Any) -> list[str]:
    return [t.value for t in at.title]


def no_errors(at: Any) -> None:
    assert not at.exception, [e.value for e in at.exception]


@pytest.mark.parametrize("username", sorted(ROLE_PAGES))
def test_each_role_gets_exactly_its_pages(env: AppEnv, username: str) -> None:
    at = app_test(env, username).run()
    no_errors(at)
    assert registered_pages(at) == ROLE_PAGES[username]
    for page in sorted(ALL_PAGES - ROLE_PAGES[username]):
        goto(at, page)
        no_errors(at)
        assert registered_pages(at) == ROLE_PAGES[username]
        first = "Audit log" if username == "admin" else "Victim list"
        assert titles(at)[0].startswith(first), f"{username} asked for /{page}"


def test_signed_out_visitors_get_only_the_sign_in_page(env: AppEnv) -> None:
    at = app_test(env).run()
    no_errors(at)
    assert titles(at) == ["chi: victim harm lists"]
    for page in sorted(ALL_PAGES):
        goto(at, page)
        assert titles(at) == ["chi: victim harm lists"]
        assert not at.dataframe


def test_neighbourhood_user_sees_their_list(env: AppEnv, run: Run) -> None:
    at = app_test(env, "sergeant").run()
    no_errors(at)
    assert titles(at) == ["Victim list: Abbey, Arbury"]
    rows = table(at)
    assert {r["Person id"] for r in rows} == listed(run, {ARBURY, ABBEY})
    summary = at.markdown[0].value
    assert f"**{len(rows)}** people listed for **{MONTH}**" in summary
    assert "exited since 2024-11" in summary
    assert [b.label for b in at.get("download_button")] == [
        "CSV",
        "Excel (XLSX)",
        "Printable briefing (PDF)",
    ]
    nb = at.sidebar.selectbox(key="nb")
    assert nb.options == ["All of Abbey, Arbury", f"Abbey ({ABBEY})", f"Arbury ({ARBURY})"]
    nb.set_value(ARBURY).run()
    assert {r["Person id"] for r in table(at)} == listed(run, {ARBURY})
    assert titles(at) == [f"Victim list: Arbury ({ARBURY})"]
    at.sidebar.selectbox(key="month").set_value("2024-06").run()
    assert {r["Person id"] for r in table(at)} == listed(run, {ARBURY}, "2024-06")


def test_neighbourhood_user_sees_restricted_offences_only_by_label(env: AppEnv, run: Run) -> None:
    v = pl.from_arrow(run.table("victimisations"))
    assert isinstance(v, pl.DataFrame)
    sexual = {
        r["offence_title"]
        for r in v.iter_rows(named=True)
        if "sexual_offences" in groups_of(r["offence_code"], r["ho_class"])
    }
    seen: set[str] = set()
    for user in ("sergeant", "castle", "central", "romsey", "bretton", "peterborough"):
        at = app_test(env, user).run()
        seen |= {str(r["Latest offence"]) for r in table(at)} if at.dataframe else set()
    assert not seen & sexual
    assert "sexual offence" in seen
    analyst = app_test(env, "analyst").run()
    assert {str(r["Latest offence"]) for r in table(analyst)} & sexual, "analysts see the detail"


@pytest.mark.parametrize(
    "params",
    [
        {"nb": CENTRAL},
        {"nb": "*"},
        {"nb": f"{ARBURY},{CENTRAL}"},
        {"nb": "unknown"},
        {"nb": "' or 1=1 --"},
        {"month": "2024-06", "nb": CASTLE},
        {"month": "1999-01"},
    ],
)
def test_query_parameters_cannot_widen_a_neighbourhood_scope(
    env: AppEnv, run: Run, params: dict[str, str]
) -> None:
    at = app_test(env, "sergeant")
    at.query_params.update(params)
    at.run()
    no_errors(at)
    month = params.get("month") if params.get("month") in run.manifest.months else MONTH
    got = {r["Person id"] for r in table(at)}
    assert got == listed(run, {ARBURY, ABBEY}, str(month))


@pytest.mark.parametrize("value", [CENTRAL, CASTLE, "*", "unknown", f"{ARBURY},{CENTRAL}"])
def test_session_and_widget_values_cannot_widen_a_neighbourhood_scope(
    env: AppEnv, run: Run, value: str
) -> None:
    at = app_test(env, "arbury")
    at.session_state["nb"] = value
    at.run()
    no_errors(at)
    assert {r["Person id"] for r in table(at)} == listed(run, {ARBURY})
    assert at.sidebar.selectbox(key="nb").options == [f"Arbury ({ARBURY})"]
    with pytest.raises(ValueError):
        at.sidebar.selectbox(key="nb").set_value(value).run()


def test_person_view_cannot_be_pointed_at_someone_out_of_scope(env: AppEnv, run: Run) -> None:
    outsider = sorted(listed(run, {CENTRAL}))[0]
    insider = sorted(listed(run, {ARBURY}))[0]
    at = app_test(env, "arbury")
    at.query_params["person"] = outsider
    at.run()
    at = goto(at, "person")
    no_errors(at)
    assert any("not on a list you can see" in w.value for w in at.warning)
    pick = at.selectbox(key="person_pick")
    assert len(pick.options) == len(listed(run, {ARBURY}))
    assert pick.value in listed(run, {ARBURY})
    assert outsider not in {str(h.value) for h in at.header}
    at.session_state["person_jump"] = outsider
    at.run()
    assert at.selectbox(key="person_pick").value in listed(run, {ARBURY})
    at.session_state["person_jump"] = insider
    at.run()
    assert at.selectbox(key="person_pick").value == insider


def test_person_view_shows_the_person(env: AppEnv, run: Run) -> None:
    at = goto(app_test(env, "sergeant").run(), "person")
    no_errors(at)
    assert titles(at) == ["Person"]
    assert at.header and at.metric
    labels = [m.label for m in at.metric]
    assert labels == [
        "Harm in the window (days)",
        "Victimisations",
        "Domestic abuse",
        "Also recorded as a suspect",
    ]
    assert [s.value for s in at.subheader] == [
        "Harm month by month",
        "Victimisations in the window",
        "Months on the victim list",
    ]
    store = Store(env.state)
    views = store.audit_log(username="sergeant", actions=["person_view"])
    assert views and views[0]["person_id"] in listed(run, {ARBURY, ABBEY})


def test_area_user_sees_the_areas_offenders_and_dyads(env: AppEnv, run: Run) -> None:
    at = goto(app_test(env, "north").run(), "offenders")
    no_errors(at)
    assert titles(at) == ["Offenders: North area"]
    want = offender_list(run, MONTH, Scope.of(NORTH))
    assert [r["name"] for r in table(at)] == want["name"].to_list()
    at = goto(at, "dyads")
    no_errors(at)
    assert titles(at) == ["Domestic abuse dyads: North area"]
    at = goto(at, "victims")
    assert {r["Person id"] for r in table(at)} == listed(run, NORTH)
    south = goto(app_test(env, "south").run(), "offenders")
    assert len(table(south)) == offender_list(run, MONTH, Scope.of(SOUTH)).height


def test_analyst_sees_the_force_and_the_analyst_pages(env: AppEnv, run: Run) -> None:
    at = app_test(env, "analyst").run()
    no_errors(at)
    assert titles(at) == ["Victim list: force-wide"]
    everyone = set(victim_list(run, MONTH, Scope.force())["person_id"])
    assert {r["Person id"] for r in table(at)} == everyone
    at = goto(at, "quality")
    no_errors(at)
    assert titles(at) == ["Data quality"]
    at = goto(at, "runs")
    no_errors(at)
    assert titles(at) == ["Runs"]


def test_admin_reads_the_audit_log_and_accounts_but_no_lists(env: AppEnv) -> None:
    app_test(env, "castle").run()
    at = app_test(env, "admin").run()
    no_errors(at)
    assert titles(at) == ["Audit log"]
    rows = table(at)
    assert {"list_view"} <= {r["action"] for r in rows}
    assert any(r["username"] == "castle" and r["scope"] == "Castle" for r in rows)
    at.selectbox(key="audit_user").set_value("castle").run()
    assert {r["username"] for r in table(at)} == {"castle"}
    at.multiselect(key="audit_actions").set_value(["list_view"]).run()
    assert {r["action"] for r in table(at)} == {"list_view"}
    at = goto(at, "users")
    no_errors(at)
    assert {r["username"] for r in table(at)} >= {"sergeant", "admin", "north"}


def test_pages_refuse_a_role_even_if_called_directly(env: AppEnv) -> None:
    from streamlit.testing.v1 import AppTest

    def script() -> None:
        from chi.app.context import PageContext, services
        from chi.app.pages import runs
        from chi.state.auth import make_user

        runs.render(PageContext(services(), make_user("pc", "neighbourhood", ["E05013051"]), {}))

    at = AppTest.from_function(script, default_timeout=60).run()
    assert [e.value for e in at.error] == ["This page is not available for your role."]
    assert not at.dataframe


def test_the_audit_log_holds_no_names(env: AppEnv, run: Run) -> None:
    people = pl.from_arrow(run.table("people"))
    assert isinstance(people, pl.DataFrame)
    names = {n for n in people["name"].drop_nulls() if len(n) > 3}
    for user in ("sergeant", "north", "analyst"):
        goto(app_test(env, user).run(), "person")
    text = " ".join(str(v) for row in Store(env.state).audit_log() for v in row.values())
    assert not {n for n in names if n in text}


def test_data_export_is_disabled_in_the_app(env: AppEnv) -> None:
    from streamlit import config

    app_test(env, "analyst").run()
    assert config.get_option("client.disableDataExport") is True
    # Streamlit's script-level settings, beside the script inside the package.
    text = (APP_SCRIPT.parent / ".streamlit" / "config.toml").read_text(encoding="utf-8")
    assert "disableDataExport = true" in text and 'showErrorDetails = "none"' in text


# The main column at 1440 px in the wide layout, less the sidebar (about 300 px) and the
# page's side padding: a conservative width the key columns must fit in.
MAIN_AT_1440 = 960


def test_person_page_tables_put_key_columns_first_within_1440(env: AppEnv, run: Run) -> None:
    from chi.app.pages import person

    at = goto(app_test(env, "sergeant").run(), "person")
    no_errors(at)
    assert [list(d.value.columns) for d in at.dataframe] == [
        list(person.VICTIMISATION_COLUMNS),
        list(person.LISTING_COLUMNS),
    ]
    for config, keys in (
        (person.VICTIMISATION_COLUMNS, person.VICTIMISATION_KEY_COLUMNS),
        (person.LISTING_COLUMNS, person.KEY_COLUMNS),
    ):
        labels = [c["label"] for c in config.values()]
        widths = [int(c["width"]) for c in config.values()]
        assert labels[: len(keys)] == list(keys), "key columns first, in order"
        assert 45 + sum(widths[: len(keys)]) <= MAIN_AT_1440


def test_person_page_for_someone_only_on_the_offender_list(env: AppEnv, run: Run) -> None:
    victims = set(victim_list(run, MONTH, Scope.of(NORTH))["person_id"])
    offenders = offender_list(run, MONTH, Scope.of(NORTH))
    only = offenders.filter(~pl.col("person_id").is_in(sorted(victims)))
    assert not only.is_empty(), "the fixture has offenders who are not listed victims"
    row = only.row(0, named=True)
    at = app_test(env, "north")
    at.session_state["person_jump"] = row["person_id"]
    at = goto(at.run(), "person")
    no_errors(at)
    assert at.selectbox(key="person_pick").value == row["person_id"]
    assert [m.label for m in at.metric] == [
        "Offender rank in the neighbourhood",
        "Harm caused in the window (days)",
        "Crimes as a suspect",
        "RFG score",
    ]
    assert at.metric[0].value == str(row["neighbourhood_rank"])
    assert at.metric[2].value == str(row["crimes"])
    assert "Months on the victim list" not in [s.value for s in at.subheader]
    assert row["person_id"] in at.markdown[0].value.replace("\\", "")


def test_person_facts_leave_out_what_is_not_known(run: Run) -> None:
    from dataclasses import replace

    from chi.app.pages.person import facts
    from chi.reading.lists import person_detail

    pid = victim_list(run, MONTH, Scope.of({ARBURY}))["person_id"][0]
    d = person_detail(run, pid, MONTH, Scope.of({ARBURY}))
    assert d is not None
    known = facts(replace(d, age=41), MONTH)
    assert known[:2] == [f"Person id {pid}", "age 41"]
    unknown = facts(replace(d, age=None), MONTH)
    assert not [f for f in unknown if "age" in f]
    assert unknown[-1] == f"on the victim list for {MONTH}"
