"""Command-line commands for running the app: ``chi users`` and ``chi demo``.

Kept apart from ``chi.cli`` so the scoring commands stay small; registered on the same
``chi`` command. Nothing here imports streamlit: the app is served as a subprocess.

``chi users`` manages the local accounts in the state store named by the configuration
(``--config`` or ``$CHI_CONFIG``); passwords are typed at a hidden prompt or read from
standard input, never given as arguments (they would land in shell history and process
lists). Each change is written to the audit log as done by ``cli:<operating-system user>``.

``chi demo`` prepares a demonstration in one folder (default ``demo/``): a generated extract
if there is none, a scored run if there is none, a configuration with ``demo = true`` and
one demo account per role, then serves the app.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from chi.cli.common import AREA_HELP, ConfigOption, actor, add_group, fail, state_store

if TYPE_CHECKING:
    from chi.state.store import Store

DEMO_PASSWORD = "demo"


def demo_accounts() -> dict[str, tuple[str, str]]:
    """The demo's force-wide accounts and one per policing area (``north``, ``south``: the
    areas of the shipped geography, which the demo's generated extract is placed in)."""
    from chi.reference import policing_areas

    areas = {area.casefold().replace(" ", "-"): ("area", area) for area in policing_areas()}
    return {**areas, "analyst": ("analyst", ""), "admin": ("admin", "")}


def _password(from_stdin: bool) -> str:
    if from_stdin:
        data = sys.stdin.buffer.readline().rstrip(b"\r\n")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            typer.echo("chi: the password on standard input is not UTF-8 text", err=True)
            raise typer.Exit(2) from None
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


def users_add(
    username: Annotated[str, typer.Argument(help="Account name (letters, digits, . _ - @).")],
    role: Annotated[str, typer.Option(help="neighbourhood, area, analyst or admin.")],
    neighbourhood: Annotated[
        list[str] | None,
        typer.Option(help="A ward code the account may see (repeat for more); neighbourhood role."),
    ] = None,
    area: Annotated[str | None, typer.Option(help=AREA_HELP + " Area role.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Add a local account with a role and scope; asks for its password."""
    from chi.state.auth import AuthError, make_user
    from chi.state.store import StoreError

    try:
        user = make_user(username, role, neighbourhood if role == "neighbourhood" else area)
    except AuthError as exc:
        raise fail(exc) from None
    store = state_store(config)
    try:
        store.add_user(user.username, _password(password_stdin), user.role.value, user.scope_text)
    except StoreError as exc:
        raise fail(exc) from None
    store.record(
        actor(), "account_added", scope=user.scope_text, detail=f"{user.username} ({user.role})"
    )
    typer.echo(f"added {user.username}: {user.role.value}, {user.scope.label}")


def users_remove(
    username: Annotated[str, typer.Argument(help="Account to remove.")],
    config: ConfigOption = None,
) -> None:
    """Remove a local account and end its sessions."""
    from chi.state.store import StoreError

    store = state_store(config)
    try:
        store.remove_user(username)
    except StoreError as exc:
        raise fail(exc) from None
    store.record(actor(), "account_removed", detail=username)
    typer.echo(f"removed {username}")


def users_set_password(
    username: Annotated[str, typer.Argument(help="Account whose password to set.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Set a local account's password (and lift any lock-out)."""
    from chi.state.store import StoreError

    store = state_store(config)
    try:
        store.set_password(username, _password(password_stdin))
    except StoreError as exc:
        raise fail(exc) from None
    store.record(actor(), "password_set", detail=username)
    typer.echo(f"password set for {username}")


def users_list(config: ConfigOption = None) -> None:
    """List the local accounts with their role, scope and state."""
    from chi.state.auth import AuthError, make_user

    accounts = state_store(config).accounts()
    if not accounts:
        typer.echo("no accounts")
        return
    for a in accounts:
        try:
            scope = make_user(a.username, a.role, a.scope).scope.label
        except AuthError as exc:
            scope = f"INVALID ({exc})"
        flags = [f for f, on in (("demo", a.demo), ("locked", a.locked())) if on]
        extra = f"  [{', '.join(flags)}]" if flags else ""
        typer.echo(f"{a.username:<20} {a.role:<13} {scope}{extra}")


def _has_extract(folder: Path) -> bool:
    return (folder / "crimes.parquet").exists() or (folder / "crimes").is_dir()


# Arbury and King's Hedges: neighbouring north Cambridge wards, as one team might cover.
SERGEANT_WARDS = ["E05013051", "E05013056"]


def _sergeant_wards(runs: Path) -> list[str]:
    """Arbury and King's Hedges when both have people on the latest month's victim list, else
    the two Cambridge wards with the most."""
    import polars as pl

    from chi.reading.lists import neighbourhoods
    from chi.scoring.runs import open_run

    nb = neighbourhoods().filter(pl.col("district_name") == "Cambridge")
    cambridge = nb["neighbourhood_code"].to_list()
    run = open_run(runs)
    month = run.manifest.months[-1]
    counts = (
        pl.read_parquet(run.file("victim_list"))
        .filter((pl.col("month") == month) & pl.col("neighbourhood_code").is_in(cambridge))
        .group_by("neighbourhood_code")
        .len()
        .sort(["len", "neighbourhood_code"], descending=[True, False])
    )
    listed = counts["neighbourhood_code"].to_list()
    if all(w in listed for w in SERGEANT_WARDS):
        return SERGEANT_WARDS
    wards = listed[:2]
    return wards + [c for c in sorted(cambridge) if c not in wards][: 2 - len(wards)]


# The demo's extract carries a known engagement effect (chi.generate.engagement): its
# engagements become the recorded meeting decisions, so the meeting, impact review and person
# pages open with history, and the review has an effect to find.
DEMO_ENGAGEMENT_EFFECT = 0.3
DEMO_MONTHS = 48
"""Long enough for several 12-month backtest test months after a 12-month look-back."""


# The first line of the configuration chi demo writes: the only chi.toml it rewrites.
DEMO_CONFIG_MARKER = (
    "# The demonstration's configuration, written by `chi demo`. Synthetic data only."
)


def _not_a_demo_folder(folder: Path) -> str:
    """Why FOLDER must not be turned into a demonstration ("" when it may): a chi.toml that
    chi demo did not write (its first line is not DEMO_CONFIG_MARKER, or it does not say
    ``demo = true``), a state store without such a chi.toml beside it, or a state store
    holding an account that is not a demo account. chi
    demo never rewrites a deployment's configuration nor adds demo accounts beside real ones.
    """
    import sqlite3
    import tomllib

    config, state = folder / "chi.toml", folder / "state.sqlite"
    if config.exists():
        try:
            text = config.read_text(encoding="utf-8")
            demo_flag = tomllib.loads(text).get("app", {}).get("demo")
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, AttributeError):
            text, demo_flag = "", None
        if text.splitlines()[:1] != [DEMO_CONFIG_MARKER] or demo_flag is not True:
            return (
                f"{config} is not a configuration chi demo wrote (a deployment's?): chi demo "
                "never rewrites it; give the demo a folder of its own (--folder)"
            )
    if state.exists() and not config.exists():
        # chi demo writes its chi.toml before its store: a store alone is a deployment's
        # (one signing in through OIDC holds no local account, only decisions and audit).
        return (
            f"{state} has no configuration chi demo wrote beside it (a deployment's?): "
            "chi demo never writes into it; give the demo a folder of its own (--folder)"
        )
    if state.exists():
        from chi.state.db import q

        try:
            con = sqlite3.connect(f"{state.as_uri()}?mode=ro", uri=True)
            try:
                real = [str(r[0]) for r in q(con, "non_demo_accounts").fetchall()]
            finally:
                con.close()
        except sqlite3.Error:
            return (
                f"{state} is not a state store chi demo can read: chi demo never writes "
                "into it; give the demo a folder of its own (--folder)"
            )
        if real:
            return (
                f"{state} holds {len(real)} account(s) that are not demo accounts (a "
                "deployment's?): chi demo never adds to it; give the demo a folder of its "
                "own (--folder)"
            )
    return ""


def _demo_backtest(runs: Path) -> None:
    """A backtest and a trained forecast model for the current run (RUN/model), unless one
    is there: the Backtest page and the forecast column then have content on first open."""
    from chi.forecast.backtest import Options
    from chi.forecast.model import ModelError
    from chi.forecast.saved import BACKTEST_FILE, backtest_run, default_model_dir
    from chi.progress import terminal_progress
    from chi.scoring.runs import open_run

    run = open_run(runs)
    folder = default_model_dir(run)
    if (folder / BACKTEST_FILE).is_file():
        return
    typer.echo(f"backtesting the run and training the forecast model into {folder}")
    try:
        with terminal_progress("backtest") as progress:
            backtest_run(run, Options(max_train_rows=30_000), folder, None, progress)
    except (ValueError, ModelError) as exc:  # too little history: the demo runs without one
        typer.echo(f"no backtest for this extract: {exc}")


def _demo_decisions(store: Store, extract: Path) -> None:
    """The generated engagements as meeting decisions (once: a repeat import is unchanged)."""
    from chi.meetings.importing import import_decisions

    engagements = extract / "truth" / "engagements.parquet"
    if not engagements.is_file():
        return
    report = import_decisions(store, engagements, "demo (synthetic engagements)")
    if report.imported:
        typer.echo(f"recorded {report.imported:,} synthetic meeting decisions (engagements)")


def demo(
    port: Annotated[int, typer.Option(help="Port to serve the app on.")] = 8501,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Prepare everything, do not serve.")
    ] = False,
    folder: Annotated[Path, typer.Option(help="Folder for the demo's data and state.")] = Path(
        "demo"
    ),
    address: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
) -> None:
    """Prepare the demonstration (synthetic extract, a scored run, a backtest and forecast
    model, meeting decisions, demo accounts) and serve it.

    Generates FOLDER/extract (seed 1, 48 months from 2022-01, with a known engagement
    effect) if it is missing, scores it into FOLDER/runs if there is no run (the months with
    a whole window), backtests it and trains the forecast model (RUN/model), records the
    synthetic engagements as meeting decisions, writes FOLDER/chi.toml (demo = true) and
    creates one demo account per role, password "demo". Demo accounts exist only in demo
    mode: the app refuses to start in production mode while any exists.
    """
    from chi.errors import EXTRA_OF
    from chi.progress import terminal_progress
    from chi.reference import GEOGRAPHY_ENV, use_geography

    # Before minutes of generating and training: the demo serves the whole app.
    absent = [m for m in EXTRA_OF if importlib.util.find_spec(m) is None]
    if absent:
        typer.echo(
            f"chi: chi demo serves the whole app, and {EXTRA_OF[absent[0]][1]} is not "
            "installed: pip install 'chi[app]'",
            err=True,
        )
        raise typer.Exit(2)
    from chi.scoring.policy import Policy
    from chi.scoring.runs import latest_run_id, score_and_publish
    from chi.state.store import Store

    if os.environ.get(GEOGRAPHY_ENV, "").strip():
        typer.echo(
            f"chi: the demo is placed in the shipped Cambridgeshire geography: unset "
            f"{GEOGRAPHY_ENV} to run it (a force's own geography is for its own extracts)",
            err=True,
        )
        raise typer.Exit(2)
    use_geography(None)  # not that of a chi.toml in this folder: the demo's names none
    folder = folder.resolve()
    refusal = _not_a_demo_folder(folder)
    if refusal:
        typer.echo(f"chi: {refusal}", err=True)
        raise typer.Exit(2)
    extract, runs = folder / "extract", folder / "runs"
    folder.mkdir(parents=True, exist_ok=True)
    if not _has_extract(extract):
        from chi.generate import GenerateOptions, generate_extract

        typer.echo(
            f"generating the demo extract in {extract} (seed 1, 2022-01, {DEMO_MONTHS} months, "
            f"engagement effect {DEMO_ENGAGEMENT_EFFECT})"
        )
        with terminal_progress("generate") as progress:
            generate_extract(
                extract,
                GenerateOptions(
                    seed=1,
                    start="2022-01",
                    months=DEMO_MONTHS,
                    engagement_effect=DEMO_ENGAGEMENT_EFFECT,
                ),
                progress,
            )
    if latest_run_id(runs) is None:
        typer.echo(f"scoring it into {runs}")
        with terminal_progress("score") as progress:
            score_and_publish(extract, runs, Policy(), None, progress, partial=False)
    _demo_backtest(runs)
    config = folder / "chi.toml"
    hosts = ["localhost", "127.0.0.1"]
    if address == "0.0.0.0":
        hosts = ["*"]  # a demonstration shown on the local network, under any name
    elif address not in hosts:
        hosts.append(address)
    config.write_text(
        f"{DEMO_CONFIG_MARKER}\n"
        '[app]\nruns_dir = "runs"\nextract_dir = "extract"\nstate_path = "state.sqlite"\n'
        f"demo = true\nallowed_hosts = {json.dumps(hosts)}\n",
        encoding="utf-8",
    )
    from chi.state.passwords import PasswordPolicy

    # The demonstration's own policy (app.demo = true), whatever $CHI_CONFIG names.
    store = Store(folder / "state.sqlite", password_policy=PasswordPolicy())
    _demo_decisions(store, extract)
    accounts = {"sergeant": ("neighbourhood", ",".join(_sergeant_wards(runs))), **demo_accounts()}
    from chi.state.auth import make_user

    typer.echo("")
    typer.echo("demo accounts (demonstration only; password: demo):")
    for name, (role, scope) in accounts.items():
        if store.account(name) is None:
            store.add_user(name, DEMO_PASSWORD, role, scope, demo=True)
            store.record(actor(), "account_added", scope=scope, detail=f"{name} ({role}, demo)")
        user = make_user(name, role, scope)
        typer.echo(f"  {name:<9} {role:<13} {user.scope.label}")
    url = f"http://{'localhost' if address in ('127.0.0.1', '0.0.0.0') else address}:{port}"
    typer.echo("")
    if no_serve:
        typer.echo(f"ready: serve it with  chi demo --folder {folder}  (then open {url})")
        return
    typer.echo(f"serving the app at {url} (Ctrl+C to stop)")
    env = {**os.environ, "CHI_CONFIG": str(config), "CHI_PREWARM": "1"}
    # Through chi's hardened server (chi.app.serve, inside the installed package), as a
    # deployment serves it; Streamlit's settings come from the .streamlit/config.toml beside
    # the app's script in the package, whatever folder serves it.
    command = [sys.executable, "-m", "uvicorn", "chi.app.serve:app", "--host", address]
    command += ["--port", str(port)]
    try:
        code = subprocess.call(command, env=env, cwd=folder)
    except KeyboardInterrupt:
        code = 0
    raise typer.Exit(code)


AnchorOption = Annotated[
    Path | None,
    typer.Option(
        "--anchor",
        help="File of recorded heads (chi audit anchor, the server log); default [audit] "
        "anchor_file when it exists.",
    ),
]


def audit_verify(anchor: AnchorOption = None, config: ConfigOption = None) -> None:
    """Check the audit log's hash chain: every entry present, in order and unchanged, and
    (with an anchor file) no entry missing at its end nor rewritten since a recorded head.

    Prints the number of entries and the latest entry's hash. Exits 1 naming the first
    broken link, the missing entries or the rewritten one.
    """
    from chi.settings import load_config
    from chi.state.anchor import (
        AnchorFile,
        anchor_problems,
        load_key,
        own_anchors,
        read_anchors,
    )
    from chi.state.store import StoreError

    store = state_store(config)
    if anchor is None:
        anchor = load_config(config).audit_anchor_file
        if anchor is not None and not anchor.exists():
            # Configured, so the app or `chi audit anchor` should have written it: gone, it
            # can no longer show entries cut off the end.
            typer.echo(
                f"chi: the anchor file {anchor} ([audit] anchor_file) is missing, so entries "
                "cut off the end of the log cannot be seen; restore it, or start a new one "
                "with `chi audit anchor`",
                err=True,
            )
            raise typer.Exit(1)
    try:
        key = load_key(load_config(config).audit_anchor_key_file)
        # Read before the chain, so no head is recorded after the chain was read.
        read = AnchorFile() if anchor is None else read_anchors(anchor, key)
    except StoreError as exc:
        raise fail(exc) from None
    if read.malformed:
        more = f" (and {len(read.malformed) - 1} more)" if len(read.malformed) > 1 else ""
        typer.echo(
            f"chi: {read.malformed[0]}{more} looks like an audit anchor (chi-audit-anchor, "
            "store=) but is not a whole one (cut short or altered), so the log cannot be "
            "checked against it; restore the line or start a new anchor file",
            err=True,
        )
        raise typer.Exit(1)
    anchors = read.anchors
    check = store.verify_audit()
    if not check.ok:
        typer.echo(
            f"chi: the audit log is broken at entry {check.broken_at}: {check.problem} "
            f"({check.entries} entries before it are intact)",
            err=True,
        )
        raise typer.Exit(1)
    source = None if anchor is None else str(anchor)
    problems = anchor_problems(store, check, anchors, source, read.unsigned)
    for problem in problems:
        typer.echo(f"chi: the audit log does not match its anchors: {problem}", err=True)
    if problems:
        raise typer.Exit(1)
    mine = len(own_anchors(store, anchors))
    count = f"{mine} anchor" + ("" if mine == 1 else "s")
    if len(anchors) > mine:
        count += f" (and {len(anchors) - mine} of other stores, skipped)"
    against = f"; matches {count} in {anchor}" if anchor is not None else ""
    if read.unsigned:
        against += f" ({read.unsigned} unsigned anchor lines skipped)"
    typer.echo(
        f"audit log intact: {check.entries} entries; latest hash {check.head or '-'}{against}"
    )


def audit_anchor(
    to: Annotated[
        Path | None,
        typer.Option("--to", help="Append the line to this file (default [audit] anchor_file)."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Print the audit log's head (entries and latest hash) as one anchor line, and append
    it to a file kept outside the server, for `chi audit verify --anchor` to compare with.

    Refuses (exit 1) to anchor a chain that is already broken.
    """
    from chi.settings import load_config
    from chi.state.anchor import anchor_line, append_anchor, load_key, store_id
    from chi.state.store import StoreError

    store = state_store(config)
    to = to or load_config(config).audit_anchor_file
    try:
        key = load_key(load_config(config).audit_anchor_key_file)
    except StoreError as exc:
        raise fail(exc) from None
    check = store.verify_audit()
    if not check.ok:
        typer.echo(
            f"chi: the audit log is broken at entry {check.broken_at}: {check.problem}; "
            "no anchor written",
            err=True,
        )
        raise typer.Exit(1)
    line = anchor_line(check, store_id(store), key)
    if to is not None:
        try:
            append_anchor(to, line)
        except OSError as exc:
            raise fail(OSError(f"{to}: cannot append the anchor ({type(exc).__name__})")) from None
    typer.echo(line)


def register(app: typer.Typer) -> None:
    """Add the app's commands to the ``chi`` command line."""
    add_group(
        app,
        "users",
        "Manage the app's local accounts (in the state store of the configuration).",
        {
            "add": users_add,
            "remove": users_remove,
            "set-password": users_set_password,
            "list": users_list,
        },
    )
    add_group(
        app,
        "audit",
        "Check the app's audit log.",
        {"verify": audit_verify, "anchor": audit_anchor},
    )
    app.command("demo")(demo)
