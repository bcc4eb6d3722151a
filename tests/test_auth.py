"""Roles, scopes and sign-in: local accounts and OIDC claims or allow-list give the same User;
configuration and the offence groups that decide what is masked."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
from argon2 import PasswordHasher

from chi.offences import (
    GROUPS,
    SEXUAL_OFFENCES,
    classification_number,
    groups_of,
    sql_in_group,
    sql_masked_title,
)
from chi.reading.lists import Scope, narrow, neighbourhoods, scope_from_key
from chi.reference import weight_sets
from chi.settings import AppConfig, OidcSettings, config_from_mapping, load_config, setting_names
from chi.state.auth import (
    PAGES,
    AuthError,
    Role,
    make_user,
    sign_in_local,
    user_for_account,
    user_from_oidc,
)
from chi.state.store import Store

ROOT = Path(__file__).resolve().parent.parent
ARBURY, ABBEY, CENTRAL = "E05013051", "E05013050", "E05010807"


def test_each_role_gets_its_pages_and_scope() -> None:
    n = make_user("pc", "neighbourhood", [ARBURY, ABBEY])
    assert n.scope.neighbourhoods == {ARBURY, ABBEY} and not n.scope.force_wide
    assert n.scope.label == "Abbey, Arbury"
    assert n.pages == ("victims", "person") and n.masks_restricted
    a = make_user("lead", "area", "north")
    nb = neighbourhoods()
    assert a.scope.neighbourhoods == set(nb.filter(pl.col("area") == "North")["neighbourhood_code"])
    assert not a.may_open("runs") and a.may_open("offenders") and not a.masks_restricted
    assert make_user("ana", "analyst", None).scope.force_wide
    admin = make_user("root", "admin", "")
    assert admin.scope.sql_filter("x") == "false", "an admin sees no list rows"
    assert set(PAGES[Role.ADMIN]) == {"audit", "users"}


@pytest.mark.parametrize(
    ("role", "scope", "message"),
    [
        ("neighbourhood", "", "one or more"),
        ("neighbourhood", "E05999999", "unknown neighbourhood"),
        ("area", "East", "North or South"),
        ("area", "North,South", "North or South"),
        ("analyst", ARBURY, "takes no scope"),
        ("superuser", "", "unknown role"),
    ],
)
def test_bad_roles_and_scopes_are_refused(role: str, scope: str, message: str) -> None:
    with pytest.raises(AuthError, match=message):
        make_user("x", role, scope)


def test_narrowing_never_widens_a_scope() -> None:
    mine = Scope.of({ARBURY, ABBEY})
    assert narrow(mine, [ARBURY]).neighbourhoods == {ARBURY}
    assert narrow(mine, [CENTRAL]).neighbourhoods == frozenset()
    assert narrow(mine, [CENTRAL]).sql_filter("c") == "false"
    assert narrow(mine, None) == mine
    assert narrow(Scope.force(), [CENTRAL]).neighbourhoods == {CENTRAL}
    assert scope_from_key(mine.key).neighbourhoods == mine.neighbourhoods
    assert scope_from_key("*").force_wide
    assert scope_from_key("").sql_filter("c") == "false"


def _store(tmp_path: Path) -> Store:
    return Store(tmp_path / "s.sqlite", hasher=PasswordHasher(time_cost=1, memory_cost=1024))


def test_local_sign_in_gives_the_account_user(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.add_user("pc", "correct horse battery", "neighbourhood", f"{ARBURY},{ABBEY}")
    config = AppConfig(state_path=store.path, lockout_attempts=2)
    ok = sign_in_local(store, config, " pc ", "correct horse battery")
    assert ok.user == make_user("pc", "neighbourhood", [ARBURY, ABBEY])
    bad = sign_in_local(store, config, "pc", "wrong")
    assert bad.user is None and "not right" in bad.message
    nobody = sign_in_local(store, config, "nobody", "wrong")
    assert nobody.message == bad.message, "the message does not say whether the account exists"
    locked = sign_in_local(store, config, "pc", "wrong")
    assert locked.user is None and "locked" in locked.message


def test_an_account_with_a_scope_no_longer_valid_cannot_sign_in(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.add_user("pc", "correct horse battery", "neighbourhood", "E05999999")
    result = sign_in_local(store, AppConfig(), "pc", "correct horse battery")
    assert result.user is None and "no valid role" in result.message
    assert user_for_account(store, "pc") is None


def test_oidc_claims_give_role_and_scope() -> None:
    config = AppConfig(auth_mode="oidc")
    claims = {
        "email": "pc@force.example",
        "chi_role": "neighbourhood",
        "chi_neighbourhoods": [ARBURY],
    }
    assert user_from_oidc(claims, config) == make_user(
        "pc@force.example", "neighbourhood", [ARBURY]
    )
    as_text = {**claims, "chi_neighbourhoods": f"{ARBURY} {ABBEY}"}
    assert user_from_oidc(as_text, config).neighbourhoods == {ARBURY, ABBEY}
    area = {"email": "lead@force.example", "chi_role": ["area"], "chi_area": "South"}
    assert user_from_oidc(area, config).area == "South"
    with pytest.raises(AuthError, match="chi_role"):
        user_from_oidc({"email": "x@force.example"}, config)
    with pytest.raises(AuthError, match="email"):
        user_from_oidc({"chi_role": "analyst"}, config)
    custom = AppConfig(
        auth_mode="oidc", oidc=OidcSettings(identity_claim="sub", role_claim="roles")
    )
    assert user_from_oidc({"sub": "abc", "roles": ["analyst"]}, custom).role is Role.ANALYST


def test_oidc_allow_list_gives_role_and_scope(tmp_path: Path) -> None:
    allow = tmp_path / "allow.toml"
    allow.write_text(
        '[users."PC@Force.example"]\nrole = "neighbourhood"\n'
        f'neighbourhoods = ["{ARBURY}"]\n'
        '[users."lead@force.example"]\nrole = "area"\narea = "North"\n',
        encoding="utf-8",
    )
    config = AppConfig(
        auth_mode="oidc", oidc=OidcSettings(role_source="allow_list", allow_list=allow)
    )
    pc = user_from_oidc({"email": "pc@force.example", "chi_role": "analyst"}, config)
    assert pc.role is Role.NEIGHBOURHOOD, "the allow-list, not the token, decides"
    assert user_from_oidc({"email": "lead@force.example"}, config).area == "North"
    with pytest.raises(AuthError, match="allow-list"):
        user_from_oidc({"email": "stranger@force.example"}, config)


def test_config_defaults_file_and_relative_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHI_CONFIG", raising=False)
    assert load_config() == AppConfig()
    path = tmp_path / "etc" / "chi.toml"
    path.parent.mkdir()
    path.write_text(
        '[app]\nruns_dir = "runs"\nstate_path = "/var/lib/chi/state.sqlite"\ndemo = false\n'
        '[auth]\nmode = "oidc"\nsession_hours = 8\nlockout_attempts = 3\n'
        '[oidc]\nrole_source = "allow_list"\nallow_list = "users.toml"\n'
        '[lists]\nrestricted_groups = ["sexual_offences"]\nmarking = "OFFICIAL"\n'
        "[policy]\nmin_harm = 100\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("CHI_CONFIG", str(path))
    c = load_config()
    assert c.runs_dir == path.parent / "runs"
    assert c.state_path == Path("/var/lib/chi/state.sqlite")
    assert c.auth_mode == "oidc" and c.session_hours == 8.0 and c.lockout_attempts == 3
    assert c.oidc.allow_list == path.parent / "users.toml" and c.marking == "OFFICIAL"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"app": {"colour": "red"}}, "unknown setting app.colour"),
        ({"extras": {}}, "unknown configuration table"),
        ({"auth": {"mode": "ldap"}}, "auth.mode"),
        ({"auth": {"lockout_attempts": "five"}}, "must be a whole number"),
        ({"lists": {"restricted_groups": ["nonsense"]}}, "unknown offence group"),
        (
            {"auth": {"mode": "oidc"}, "oidc": {"role_source": "allow_list"}},
            "needs oidc.allow_list",
        ),
    ],
)
def test_bad_configuration_is_refused(doc: dict[str, dict[str, object]], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        config_from_mapping(doc, Path())


def test_every_setting_is_documented() -> None:
    text = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    missing = [name for name in setting_names() if f"`{name}`" not in text]
    assert missing == []


@pytest.mark.parametrize(
    ("offence_code", "ho_class", "sexual"),
    [
        ("19C.19.8.0", "019/08", True),  # rape
        ("20A.20.5.0", None, True),  # sexual assault
        ("88A.71.17.0", None, True),  # sexual communication with a child
        ("27.167.1.0", "167/01", True),  # soliciting: by the offence key's class
        (None, "017/13", True),  # no key: by the Home Office class
        (None, "070/18", True),
        ("8N.8.6.0", "008/06", False),  # ABH
        ("105.8.67.0", None, False),  # coercive control
        ("86.86.2.0", None, False),  # indecent images: not in the default group
        (None, None, False),
        ("junk", "also junk", False),
    ],
)
def test_sexual_offence_classification(
    offence_code: str | None, ho_class: str | None, sexual: bool
) -> None:
    assert ("sexual_offences" in groups_of(offence_code, ho_class)) is sexual


def test_python_and_sql_classification_agree_on_every_weight_row() -> None:
    import duckdb

    rows: list[tuple[str | None, str | None]] = [(None, None), ("19C", None), (None, "19/8")]
    for ws in weight_sets().values():
        frame = pl.read_csv(ws.path, infer_schema=False)
        key = "offence_key" if "offence_key" in frame.columns else frame.columns[0]
        rows += [(r[key], r.get("ho_class")) for r in frame.iter_rows(named=True)]
    rows += [(None, h) for _, h in rows]
    con = duckdb.connect()
    con.register("o", pl.DataFrame(rows, schema=["code", "ho"], orient="row"))
    expr = sql_in_group(SEXUAL_OFFENCES, "code", "ho")
    got = con.sql(f"select code, ho, {expr} from o").fetchall()
    for code, ho, in_sql in got:
        assert in_sql == (SEXUAL_OFFENCES.name in groups_of(code, ho)), (code, ho)
        n = classification_number(code, ho)
        assert in_sql == (n in SEXUAL_OFFENCES.classes)
    assert sum(1 for *_, s in got if s) > 100


def test_masked_title_in_sql() -> None:
    import duckdb

    expr = sql_masked_title([GROUPS["sexual_offences"]], "title", "code", "ho")
    rel = duckdb.sql(
        f"""select {expr} from (values ('Rape of a female', '19C.19.8.0', '019/08'),
                                       ('ABH', '8N.8.6.0', null),
                                       (null, '8N.8.6.0', null)) as t(title, code, ho)"""
    )
    assert rel is not None
    got = rel.fetchall()
    assert [g[0] for g in got] == ["sexual offence", "ABH", "8N.8.6.0"]
    unmasked = sql_masked_title([], "title", "code", "ho")
    assert "case" not in unmasked
