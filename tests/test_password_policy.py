"""The local-account password policy (unit, store and command line): length; the username and
passwords built on its parts (de-leeted, case-folded, reversed, digits and symbols around);
breached passwords from chi's sample, a force's Pwned Passwords mirror (range folder or
sorted file) and the range API (a local HTTP server here, never the internet); a new
password ends the account's sessions. Expectations are written out by hand."""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from typer.testing import CliRunner

from chi.cli import app
from chi.settings import load_config
from chi.state.breached import RangeFolder, SortedHashFile
from chi.state.passwords import (
    BREACHED,
    BREACHED_CORE,
    NO_MAINTAINED_CHECK,
    PasswordPolicy,
    built_on_username,
    candidates,
    problems,
)
from chi.state.store import Store, StoreError

NOT_USERNAME = "must not be built on the username"
GOOD = ["plinth marmalade otter kite", "correct horse battery", "vesper quokka lantern"]


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest().upper()


@pytest.fixture(autouse=True)
def small_mirrors(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The mirrors made here are tiny: the plausibility minimums of a real mirror (all
    1,048,576 range files, 100 lines a range, 4 GiB sorted) are lowered, except in tests
    marked ``real_minimums``, which check those minimums themselves."""
    if request.node.get_closest_marker("real_minimums") is None:
        from chi.state import breached

        monkeypatch.setattr(breached, "MIN_RANGE_FILES", 1, raising=False)
        monkeypatch.setattr(breached, "MIN_RANGE_LINES", 1, raising=False)
        monkeypatch.setattr(breached, "MIN_SORTED_BYTES", 1, raising=False)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "s.sqlite", hasher=PasswordHasher(time_cost=1, memory_cost=1024))


# --- length, guessability, the store ---------------------------------------------------


@pytest.mark.parametrize(
    ("password", "username", "words"),
    [
        ("short pass", "jsmith", "at least 12"),
        ("password1234", "jsmith", "leaked in breaches"),
        ("qwertyuiop123", "jsmith", "leaked in breaches"),
        ("iloveyou1234", "jsmith", "leaked in breaches with a few characters added"),
        ("aaaaaaaaaaaa", "jsmith", "leaked in breaches"),  # "aaaaaaaa" and 4 more
        ("mnbvcxzlkjhg", "jsmith", "too easy to guess"),  # a keyboard walk
        ("123456789012", "jsmith", "leaked in breaches"),
        ("jsmith-secret-1", "jsmith", NOT_USERNAME),
        ("JSmith2025!!xx", "jsmith", NOT_USERNAME),
        ("smith and more words", "j.smith", NOT_USERNAME),
    ],
)
def test_weak_passwords_are_refused(store: Store, password: str, username: str, words: str) -> None:
    assert any(words in p for p in problems(password, username))
    with pytest.raises(StoreError, match=words) as err:
        store.add_user(username, password, "analyst")
    assert password not in str(err.value), "the message never quotes the password"
    assert store.account(username) is None


@pytest.mark.parametrize("password", GOOD)
def test_strong_passwords_are_accepted(store: Store, password: str) -> None:
    assert problems(password, "jsmith") == []
    store.add_user("jsmith", password, "analyst")
    assert store.check_password("jsmith", password).account is not None


def test_set_password_applies_the_policy_and_ends_sessions(store: Store) -> None:
    store.add_user("jsmith", "correct horse battery", "analyst")
    session = store.start_session("jsmith", 8)
    assert store.touch_session(session.token, 60) == "jsmith"
    with pytest.raises(StoreError, match="leaked"):
        store.set_password("jsmith", "password1234")
    with pytest.raises(StoreError, match=NOT_USERNAME):
        store.set_password("jsmith", "J5m1th.2024!!")
    assert store.touch_session(session.token, 60) == "jsmith", "a refused change ends nothing"
    store.set_password("jsmith", "plinth marmalade otter kite")
    assert store.touch_session(session.token, 60) is None


def test_demo_accounts_are_outside_the_policy(store: Store) -> None:
    store.add_user("sergeant", "demo", "analyst", demo=True)
    assert store.check_password("sergeant", "demo").account is not None


# --- the username ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("bob.jones", "B0b.J0nes.2024!"),  # leetspeak of the whole username
        ("bob.jones", "J0NES-b0b-2024!!"),  # parts swapped, digits and symbols around
        ("bob.jones", "senoj.bob.1999!"),  # a part reversed
        ("bob.jones", "bobbobbob!2024"),  # one part repeated
        ("bob.jones", "Jones is the best 1"),  # a part of four or more letters inside
        ("bob.jones", "the best $en0j ever"),  # ... reversed and de-leeted
        ("bob_jones-99", "8obJones!!!!!!"),  # 8 for b; the username's digits split it
        ("amy", "Amy!2024!2024!"),  # a three-letter username with digits around
        ("amy", "ymA2024-12-01!!"),  # ... reversed
        ("a", "a!2024!2024!2024"),  # a one-letter username, digits and symbols around
        ("j.smith", "Smith.J.1234!!"),  # the parts in another order
        ("j.smith", "J5m1th.2024!!"),  # 5 for s, 1 for i
        ("ｊｓｍｉｔｈ", "jsmith-secret-1"),  # full-width letters are the same letters
        ("pc1234", "pc1234pc1234!!"),  # the username as typed, digits included
        ("jsmith", "htimsj plus words"),  # the whole username reversed
        ("bob.jones", "Bób.Jönes.2024!"),  # accents dropped
        ("bob.jones", "\u0412\u043eb.\u0408ones.2024!"),  # Cyrillic В, о and Ј for B, o, J
        ("bob.jones@force.police.uk", "b0b-j0nes-1234"),  # an e-mail address as username
    ],
)
def test_passwords_built_on_the_username_are_refused(
    store: Store, username: str, password: str
) -> None:
    assert built_on_username(password, username)
    found = problems(password, username)
    assert any(NOT_USERNAME in p for p in found), found
    with pytest.raises(StoreError, match=NOT_USERNAME) as err:
        store.add_user(username, password, "analyst")
    assert password not in str(err.value)


@pytest.mark.parametrize(
    ("username", "password"),
    [
        # One- and two-letter usernames, and three-letter parts, refuse only passwords made
        # of them: a good passphrase that happens to hold their letters is accepted.
        ("a", "correct horse battery"),
        ("a", "plinth marmalade otter kite"),
        ("e", "vesper quokka lantern"),
        ("jo", "plinth marmalade otter kite"),
        ("j.smith", "plinth marmalade otter kite"),
        ("ann.lee", "planning a kestrel voyage"),  # "ann" inside "planning"
        ("bob.jones", "vesper quokka lantern"),
    ],
)
def test_good_passwords_are_accepted_for_short_usernames(
    store: Store, username: str, password: str
) -> None:
    assert not built_on_username(password, username)
    assert problems(password, username) == []
    store.add_user(username, password, "analyst")
    assert store.check_password(username, password).account is not None


def test_a_password_with_no_letters_is_not_built_on_a_username() -> None:
    assert not built_on_username("2024-12-01 19:45", "j.smith")


# --- breached passwords: chi's sample ----------------------------------------------------


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("correcthorsebatterystaple", BREACHED),  # xkcd 936
        ("Correct Horse Battery Staple", BREACHED),  # the same, with case and spaces
        ("Tr0ub4dor&3xyz", BREACHED_CORE),  # xkcd 936's other one, three letters added
        ("xyTr0ub4dor&3", BREACHED_CORE),  # ... two letters in front
        ("1correcthorsebatterystaple!", BREACHED_CORE),
        ("P@ssw0rd2024", BREACHED_CORE),  # "p@ssw0rd" is in the sample
        ("football2024", BREACHED_CORE),
        ("trustno1!!!!", BREACHED_CORE),
        ("Summer2024!!", BREACHED_CORE),  # a season and a year
        ("Liverpool2024!", BREACHED_CORE),  # a team and a year
        ("Qwerty123456!", BREACHED_CORE),
        ("P@55w0rd1234", BREACHED_CORE),  # de-leeted: "password"
        ("L3tm31n!2024", BREACHED_CORE),  # de-leeted: "letmein"
        ("Correct-Horse-Battery-Staple", BREACHED_CORE),  # words run together
    ],
)
def test_famous_breached_passwords_and_their_variants_are_refused(
    store: Store, password: str, message: str
) -> None:
    found = problems(password, "jsmith")
    assert any(message in p for p in found), found
    with pytest.raises(StoreError, match="leaked in breaches") as err:
        store.add_user("jsmith", password, "analyst")
    assert password not in str(err.value)


def test_candidates_cut_a_few_characters_from_the_ends() -> None:
    # Up to four characters in all from the ends of each form; for a password typed without
    # spaces, also any cut from each end that holds at most 3 letters and 6 digits/symbols.
    got = candidates("Ab12345678Cd")
    assert got[0] == "Ab12345678Cd" and "b12345678C" in got and "12345678" in got
    assert "345678" in got, "two letters and two digits in front, two letters behind"
    got = candidates("abcdePassword")
    assert "dePassword" in got and "Password" not in got, "five letters in front: too many"
    got = candidates("xyzpassword.1987.pas")
    assert "password" in got, "three letters in front, three and six others behind"
    assert "password" not in candidates("xyzpassword.19871.pas"), "seven others behind"
    # "Summer2024!!": six digits and symbols around "Summer" are dropped, seven are not.
    assert "Summer" in candidates("Summer2024!!") and "summer" in candidates("Summer2024!!")
    assert "Summer" not in candidates("Summer2024!!!")
    # With spaces, the short words around are words: no letters are cut.
    assert "engineering" not in candidates("the engineering era")
    assert "password" in candidates("password 123!"), "digits and symbols around, with spaces"
    # Its words de-leeted (1 read as i, then as l) and run together.
    assert {"letmein", "letmeln"} <= set(candidates("L3tm31n!2024"))
    assert {"biuesky", "bluesky"} <= set(candidates("B1ue-Sky-2024"))


# --- breached passwords: a force's mirror ------------------------------------------------


def range_folder(tmp: Path, breached: dict[str, int], passwords: list[str]) -> Path:
    """A mirror as ``haveibeenpwned-downloader -s false`` writes it: one file per prefix,
    ``SUFFIX:COUNT`` lines (a few decoys in each), for every prefix the passwords need."""
    folder = tmp / "hibp"
    folder.mkdir()
    prefixes = {sha1(c)[:5] for p in passwords for c in candidates(p)}
    prefixes |= {h[:5] for h in breached}
    for prefix in prefixes:
        lines = [f"{prefix}{i:035X}"[5:] + ":3" for i in range(3)]
        lines += [h[5:] + f":{n}" for h, n in breached.items() if h.startswith(prefix)]
        (folder / f"{prefix}.txt").write_text("\r\n".join(sorted(lines)) + "\r\n")
    return folder


def test_a_range_folder_mirror_refuses_what_it_lists(tmp_path: Path) -> None:
    leaked = "vesper quokka lantern"  # not in chi's sample: only the mirror knows it
    assert problems(leaked, "jsmith") == []
    folder = range_folder(tmp_path, {sha1(leaked): 12, sha1("zzz"): 0}, [leaked, GOOD[0]])
    policy = PasswordPolicy(breached_corpus=folder, production=True)
    assert policy.problems(leaked, "jsmith") == [BREACHED]
    assert policy.problems(GOOD[0], "jsmith") == []
    assert RangeFolder(folder).breached({sha1(leaked), sha1("zzz")}) == {sha1(leaked)}


def test_a_mirror_that_cannot_answer_refuses(tmp_path: Path) -> None:
    folder = range_folder(tmp_path, {}, [])  # no range file for the password's prefixes
    for corpus in (folder, tmp_path / "nowhere"):
        found = PasswordPolicy(breached_corpus=corpus, production=True).problems(GOOD[0], "j")
        assert len(found) == 1 and "could not be made" in found[0], found
        assert str(corpus) in found[0] and GOOD[0] not in found[0]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_sorted_hash_file_is_searched_exactly(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    hashes = sorted({f"{rng.getrandbits(160):040X}" for _ in range(rng.randint(1, 400))})
    listed, absent = hashes[::2], hashes[1::2]
    path = tmp_path / "pwnedpasswords.txt"
    text = "".join(f"{h}:{rng.randint(1, 9999)}\r\n" for h in listed)
    path.write_bytes(text.encode()[: -2 if seed == 2 else None])  # seed 2: no final newline
    probe = set(listed) | set(absent) | {"0" * 40, "F" * 40}
    assert SortedHashFile(path).breached(probe) == set(listed)


def test_chi_config_reads_the_mirror_and_the_cli_uses_it(tmp_path: Path) -> None:
    leaked = "vesper quokka lantern"
    (tmp_path / "hibp.txt").write_text(f"{sha1(leaked)}:5\n")
    (tmp_path / "chi.toml").write_text(
        '[app]\nstate_path = "s.sqlite"\n[passwords]\nbreached_corpus = "hibp.txt"\n'
    )
    config = load_config(tmp_path / "chi.toml")
    assert config.breached_corpus == tmp_path / "hibp.txt"
    run = CliRunner().invoke
    args = ["users", "add", "jsmith", "--role", "analyst", "--password-stdin"]
    args += ["--config", str(tmp_path / "chi.toml")]
    result = run(app, args, input=leaked + "\n")
    assert result.exit_code == 2 and BREACHED in result.output
    assert leaked not in result.output
    assert run(app, args, input=GOOD[0] + "\n").exit_code == 0
    setpw = ["users", "set-password", "jsmith", "--password-stdin"]
    setpw += ["--config", str(tmp_path / "chi.toml")]
    result = run(app, setpw, input=leaked + "\n")
    assert result.exit_code == 2 and BREACHED in result.output


def test_production_without_a_maintained_check_sets_no_password(tmp_path: Path) -> None:
    (tmp_path / "chi.toml").write_text('[app]\nstate_path = "s.sqlite"\n')
    args = ["users", "add", "jsmith", "--role", "analyst", "--password-stdin"]
    args += ["--config", str(tmp_path / "chi.toml")]
    result = CliRunner().invoke(app, args, input=GOOD[0] + "\n")
    assert result.exit_code == 2 and NO_MAINTAINED_CHECK in result.output
    assert Store(tmp_path / "s.sqlite").account("jsmith") is None
    # A demonstration configuration checks the sample only.
    (tmp_path / "chi.toml").write_text('[app]\nstate_path = "s.sqlite"\ndemo = true\n')
    assert CliRunner().invoke(app, args, input=GOOD[0] + "\n").exit_code == 0


# --- breached passwords: the range API (a local server) ---------------------------------


class FakeRangeApi(http.server.ThreadingHTTPServer):
    """Answers ``GET /range/XXXXX`` like api.pwnedpasswords.com, with padding, and records
    every request line and header it was sent."""

    def __init__(self, breached: dict[str, int], delay: float = 0.0, status: int = 200) -> None:
        self.breached, self.delay, self.status = breached, delay, status
        self.seen: list[tuple[str, dict[str, str]]] = []
        super().__init__(("127.0.0.1", 0), _RangeHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/range/"


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    server: FakeRangeApi

    def do_GET(self) -> None:
        self.server.seen.append((self.path, dict(self.headers.items())))
        time.sleep(self.server.delay)
        prefix = self.path.rsplit("/", 1)[-1]
        lines = [h[5:] + f":{n}" for h, n in self.server.breached.items() if h[:5] == prefix]
        lines += [f"{i:035X}:0" for i in range(120)]  # padding, as the real API adds: no breach
        body = "\r\n".join(lines).encode()
        with contextlib.suppress(OSError):  # the client may have timed out and gone
            self.send_response(self.server.status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def serve() -> Iterator[list[FakeRangeApi]]:
    servers: list[FakeRangeApi] = []
    yield servers
    for s in servers:
        s.shutdown()
        s.server_close()


def start(servers: list[FakeRangeApi], server: FakeRangeApi) -> FakeRangeApi:
    threading.Thread(target=server.serve_forever, daemon=True).start()
    servers.append(server)
    return server


def test_the_range_api_sends_only_five_characters_of_each_hash(
    serve: list[FakeRangeApi],
) -> None:
    leaked = "vesper quokka lantern"
    api = start(serve, FakeRangeApi({sha1(leaked): 41, sha1("0" * 5 + "x"): 0}))
    policy = PasswordPolicy(
        breached_api=True, breached_api_url=api.url, breached_api_allow_http=True, production=True
    )
    assert policy.problems(leaked, "jsmith") == [BREACHED]
    assert api.seen, "the API was asked"
    for path, headers in api.seen:
        prefix = path.removeprefix("/range/")
        assert len(prefix) == 5 and all(c in "0123456789ABCDEF" for c in prefix)
        assert headers.get("Add-Padding") == "true"
        sent = path + repr(headers)
        assert sha1(leaked) not in sent and sha1(leaked)[5:] not in sent
        assert leaked not in sent
    # ONE range per password, the password as typed: a set of prefixes of its variants
    # would tell an observer which password it is.
    assert [p for p, _ in api.seen] == ["/range/" + sha1(leaked)[:5]]
    api.seen.clear()
    assert policy.problems(GOOD[0], "jsmith") == [], "padding entries are not breaches"


def test_an_unreachable_or_failing_api_refuses_in_production(
    serve: list[FakeRangeApi], caplog: pytest.LogCaptureFixture
) -> None:
    slow = start(serve, FakeRangeApi({}, delay=2.0))
    broken = start(serve, FakeRangeApi({}, status=500))
    closed = FakeRangeApi({})
    closed_url = closed.url
    closed.server_close()  # nothing listens there now
    for url, words in [(slow.url, "timed out"), (broken.url, "HTTP 500"), (closed_url, "reached")]:
        policy = PasswordPolicy(
            breached_api=True, breached_api_url=url, breached_api_timeout=0.5,
            breached_api_allow_http=True, production=True,
        )  # fmt: skip
        began = time.monotonic()
        found = policy.problems(GOOD[0], "jsmith")
        assert len(found) == 1 and "could not be made" in found[0] and words in found[0], found
        assert GOOD[0] not in found[0]
        assert time.monotonic() - began < 5, "one timeout, not one per prefix"
        opened = PasswordPolicy(
            breached_api=True, breached_api_url=url, breached_api_timeout=0.5,
            breached_api_allow_http=True, breached_api_fail_open=True, production=True,
        )  # fmt: skip
        assert opened.problems(GOOD[0], "jsmith") == [], "fail-open accepts"
        assert "not checked against it" in caplog.text and words in caplog.text
        assert GOOD[0] not in caplog.text
        caplog.clear()


def test_fail_open_defaults_to_closed_in_production_and_open_in_a_demo(tmp_path: Path) -> None:
    path = tmp_path / "chi.toml"
    path.write_text("[passwords]\nbreached_api = true\n")
    assert not PasswordPolicy.from_config(load_config(path)).breached_api_fail_open
    path.write_text("[app]\ndemo = true\n[passwords]\nbreached_api = true\n")
    assert PasswordPolicy.from_config(load_config(path)).breached_api_fail_open
    path.write_text("[passwords]\nbreached_api = true\nbreached_api_fail_open = true\n")
    assert PasswordPolicy.from_config(load_config(path)).breached_api_fail_open
    path.write_text('[passwords]\nbreached_api_url = "ftp://x"\n')
    with pytest.raises(ValueError, match="http"):
        load_config(path)


def test_only_chi_users_sets_passwords_and_it_uses_the_configured_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every call in chi that sets a password is in chi/cli/serving.py, whose store carries the
    policy of the configuration (a new path would have to be added here knowingly)."""
    import ast

    root = Path(__file__).resolve().parent.parent / "chi"
    calls: list[tuple[str, str, bool]] = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("add_user", "set_password")
            ):
                demo = any(k.arg == "demo" for k in node.keywords)
                calls.append((path.relative_to(root).as_posix(), node.func.attr, demo))
    assert sorted(calls) == [
        ("cli/serving.py", "add_user", False),
        ("cli/serving.py", "add_user", True),  # chi demo's accounts, outside the policy
        ("cli/serving.py", "set_password", False),
    ]
    from chi.cli.common import state_store

    (tmp_path / "chi.toml").write_text(
        '[app]\nstate_path = "s.sqlite"\n[passwords]\nbreached_api = true\n'
    )
    monkeypatch.setenv("CHI_CONFIG", str(tmp_path / "chi.toml"))
    policy = state_store(None).password_policy
    assert policy is not None and policy.breached_api and policy.production


@pytest.mark.parametrize(
    ("username", "password", "words"),
    [
        ("bob.jones", "B0b.J0nes.2024!", NOT_USERNAME),
        ("bob.jones", "senoj.bob.1999!", NOT_USERNAME),
        ("a", "a!2024!2024!2024", NOT_USERNAME),
        ("jsmith", "correcthorsebatterystaple", BREACHED),
        ("jsmith", "Tr0ub4dor&3xyz", BREACHED_CORE),
        ("a", "correct horse battery", None),  # accepted: a one-letter username
        ("bob.jones", "vesper quokka lantern", None),
    ],
)
def test_chi_users_add_and_set_password_apply_the_policy(
    tmp_path: Path, username: str, password: str, words: str | None
) -> None:
    (tmp_path / "hibp.txt").write_text(f"{'F' * 40}:1\n")
    config = tmp_path / "chi.toml"
    config.write_text('[app]\nstate_path = "s.sqlite"\n[passwords]\nbreached_corpus = "hibp.txt"\n')
    run = CliRunner().invoke
    base = ["--password-stdin", "--config", str(config)]
    result = run(app, ["users", "add", username, "--role", "analyst", *base], input=password + "\n")
    store = Store(tmp_path / "s.sqlite")
    if words is None:
        assert result.exit_code == 0, result.output
        assert store.check_password(username, password).account is not None
        return
    assert result.exit_code == 2 and words in result.output
    assert password not in result.output and store.account(username) is None
    add = ["users", "add", username, "--role", "analyst", *base]
    assert run(app, add, input="plinth marmalade otter kite\n").exit_code == 0
    result = run(app, ["users", "set-password", username, *base], input=password + "\n")
    assert result.exit_code == 2 and words in result.output and password not in result.output
    assert store.check_password(username, "plinth marmalade otter kite").account is not None


@pytest.mark.parametrize(
    ("settings", "warns"),
    [
        ("[app]\ndemo = false\n", True),  # production, local accounts, no maintained check
        ("[app]\ndemo = true\n", False),  # a demonstration
        ('[passwords]\nbreached_corpus = "hibp"\n', False),
        ("[passwords]\nbreached_api = true\n", False),
        ('[auth]\nmode = "oidc"\n', False),  # no local passwords at all
    ],
)
def test_the_server_warns_at_start_up_only_without_a_maintained_check(
    tmp_path: Path, settings: str, warns: bool
) -> None:
    from chi.state.passwords import startup_warning

    (tmp_path / "chi.toml").write_text(settings)
    warning = startup_warning(load_config(tmp_path / "chi.toml"))
    assert (warning is not None) == warns
    if warns:
        assert warning is not None and "breached_corpus" in warning and "refuse" in warning


# --- generated cases: usernames from chi's name lists, disguised as a person would -------

_LOOKS = {"o": "0", "i": "1", "e": "3", "a": "4@", "s": "5$", "t": "7", "b": "8", "g": "9"}
_AROUND = "0123456789!?#*"


def _names(kind: str) -> list[str]:
    import csv

    path = Path(__file__).resolve().parent.parent / "data" / "names" / f"{kind}.csv"
    with path.open(encoding="utf-8") as f:
        return [r["name"] for r in csv.DictReader(f) if r["name"].isascii()]


def _disguise(rng: random.Random, part: str) -> str:
    """``part`` as a person might hide it: some letters swapped for look-alike digits and
    symbols (never the first or last letter, which would read as digits around it), the
    case of each letter at random, perhaps reversed."""
    letters = list(part[::-1] if rng.random() < 0.3 else part)
    for k in range(1, len(letters) - 1):
        c = letters[k].lower()
        if c in _LOOKS and rng.random() < 0.5:
            letters[k] = rng.choice(_LOOKS[c])
    return "".join(c.upper() if rng.random() < 0.4 else c for c in letters)


@pytest.mark.parametrize("seed", range(12))
def test_generated_usernames_in_disguise_are_refused(seed: int) -> None:
    rng = random.Random(seed)
    forenames, surnames = _names("forenames"), _names("surnames")
    for _ in range(40):
        first, last = rng.choice(forenames).lower(), rng.choice(surnames).lower()
        number = rng.randint(1, 99)
        forms = [f"{first}.{last}", f"{first}_{last}", f"{first[0]}{last}", f"{last}-{first}"]
        username = rng.choice([*forms, f"{first}.{last}{number}"])
        parts = [first, last] if not username.startswith(first[0] + last) else [first[0] + last]
        chosen = rng.sample(parts, k=len(parts)) * rng.choice([1, 1, 2])
        body = rng.choice(["", ".", "-", "_", " "]).join(_disguise(rng, p) for p in chosen)
        head = "".join(rng.choice(_AROUND) for _ in range(rng.randint(0, 3)))
        tail = "".join(rng.choice(_AROUND) for _ in range(rng.randint(0, 6)))
        password = head + body + tail
        assert built_on_username(password, username), (username, password)


_WORDS = [
    "plinth",
    "marmalade",
    "otter",
    "kite",
    "quokka",
    "lantern",
    "vesper",
    "gravel",
    "thimble",
    "saffron",
    "walrus",
    "juniper",
    "copper",
    "meadow",
    "biscuit",
    "lagoon",
    "pylon",
    "tundra",
    "velvet",
    "orchard",
    "sprocket",
    "cobalt",
]


@pytest.mark.parametrize("seed", range(12))
def test_short_usernames_never_refuse_a_generated_passphrase(seed: int) -> None:
    """Initials (one to three letters, as ``j``, ``jk``, ``j.k``, ``amy``) refuse only a
    password made of them, never a passphrase of other words."""
    rng = random.Random(seed)
    forenames = [n.lower() for n in _names("forenames") if len(n) <= 3]
    for _ in range(40):
        a, b = rng.choice("abcdefghijklmnopqrstuvwxyz"), rng.choice("abcdefghijklmnopqrstuvwxyz")
        username = rng.choice([a, a + b, f"{a}.{b}", f"{a}_{b}{rng.randint(1, 9)}"])
        if forenames and rng.random() < 0.3:
            username = rng.choice(forenames)
        words = rng.sample(_WORDS, k=rng.randint(3, 5))
        password = rng.choice([" ", "-", ".", ""]).join(words) + str(rng.randint(0, 99))
        assert not built_on_username(password, username), (username, password)


_COMMON = ["password", "football", "iloveyou", "sunshine", "princess", "liverpool", "dragon"]


@pytest.mark.parametrize("seed", range(8))
def test_common_breached_passwords_with_a_little_added_are_refused(seed: int) -> None:
    from chi.state.passwords import sample_path

    sample = SortedHashFile(sample_path())
    assert sample.breached({sha1(w) for w in _COMMON}) == {sha1(w) for w in _COMMON}
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    for _ in range(30):
        base = rng.choice(_COMMON)
        base = base.capitalize() if rng.random() < 0.5 else base
        if rng.random() < 0.5 and len(base) >= 8:  # up to 4 of anything at the ends
            n = rng.randint(max(0, 12 - len(base)), 4)
            added = "".join(rng.choice(letters + _AROUND) for _ in range(n))
            cut = rng.randint(0, n)
            password = added[:cut] + base + added[cut:]
        else:  # up to 6 digits and symbols around
            n = rng.randint(max(0, 12 - len(base)), 6)
            added = "".join(rng.choice(_AROUND) for _ in range(n))
            cut = rng.randint(0, n)
            password = added[:cut] + base + added[cut:]
        found = problems(password, "x.y")
        assert any("leaked in breaches" in p for p in found), (password, found)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("8846F7EAEE8FB117AD06BDD830B7586C:12\n", "not a Pwned Passwords SHA-1 file"),  # NTLM
        (f"{'F' * 40}:1\n{'0' * 40}:1\n", "not sorted"),
        ("", "too small"),
    ],
)
def test_a_mirror_file_of_the_wrong_kind_refuses(tmp_path: Path, content: str, words: str) -> None:
    path = tmp_path / "pwnedpasswords.txt"
    path.write_text(content)
    found = PasswordPolicy(breached_corpus=path, production=True).problems(GOOD[0], "jsmith")
    assert len(found) == 1 and "could not be made" in found[0] and words in found[0], found


# --- the hostile tester's report (t12): each class as a test ---------------------------


class _Redirect(http.server.BaseHTTPRequestHandler):
    """Answers every request with a redirect to ``server.target`` (another host)."""

    server: FakeRangeApi

    def do_GET(self) -> None:
        self.server.seen.append((self.path, dict(self.headers.items())))
        mode = self.server.mode  # type: ignore[attr-defined]
        with contextlib.suppress(OSError):
            if mode == "redirect":
                self.send_response(302)
                self.send_header("Location", self.server.target)  # type: ignore[attr-defined]
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif mode == "trickle":  # one byte at a time: each read is quick, the whole slow
                self.send_response(200)
                self.end_headers()
                for _ in range(40):
                    self.wfile.write(b"0")
                    self.wfile.flush()
                    time.sleep(0.2)
            else:
                body = {"empty": b"", "superscript": ("0" * 35 + ":\u00b2\r\n").encode()}[mode]
                body = body * (1 if mode == "empty" else 150)
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _odd_server(serve: list[FakeRangeApi], mode: str, target: str = "") -> FakeRangeApi:
    server = FakeRangeApi({})
    server.RequestHandlerClass = _Redirect
    server.mode = mode  # type: ignore[attr-defined]
    server.target = target  # type: ignore[attr-defined]
    return start(serve, server)


def _api_policy(url: str, timeout: float = 2.0, allow_http: bool = True) -> PasswordPolicy:
    return PasswordPolicy(
        breached_api=True, breached_api_url=url, breached_api_timeout=timeout,
        breached_api_allow_http=allow_http, production=True,
    )  # fmt: skip


def test_the_api_never_follows_a_redirect(serve: list[FakeRangeApi]) -> None:
    elsewhere = start(serve, FakeRangeApi({}))  # would answer "not breached"
    redirect = _odd_server(serve, "redirect", elsewhere.url + "ABCDE")
    found = _api_policy(redirect.url).problems(GOOD[0], "jsmith")
    assert len(found) == 1 and "redirect" in found[0] and "could not be made" in found[0]
    assert elsewhere.seen == [], "the other host was never asked"


@pytest.mark.parametrize(
    ("mode", "words"), [("empty", "fewer than"), ("superscript", "HASH:COUNT")]
)
def test_an_empty_or_malformed_range_answer_refuses(
    serve: list[FakeRangeApi], mode: str, words: str
) -> None:
    found = _api_policy(_odd_server(serve, mode).url).problems(GOOD[0], "jsmith")
    assert len(found) == 1 and "could not be made" in found[0] and words in found[0], found


def test_the_api_is_https_only_unless_a_local_test_server_is_allowed(
    serve: list[FakeRangeApi], tmp_path: Path
) -> None:
    api = start(serve, FakeRangeApi({}))
    found = _api_policy(api.url, allow_http=False).problems(GOOD[0], "jsmith")
    assert len(found) == 1 and "https" in found[0] and api.seen == []
    path = tmp_path / "chi.toml"
    for url, allow, ok in [
        ("http://api.example.org/range/", False, False),
        ("http://api.example.org/range/", True, False),  # plain http only to this machine
        ("http://127.0.0.1:8080/range/", False, False),
        ("http://127.0.0.1:8080/range/", True, True),
        ("https://api.example.org/range/", False, True),
    ]:
        path.write_text(
            f'[passwords]\nbreached_api_url = "{url}"\n'
            f"breached_api_allow_http = {str(allow).lower()}\n"
        )
        if ok:
            assert load_config(path).breached_api_url == url
        else:
            with pytest.raises(ValueError, match="https"):
                load_config(path)


def test_the_api_timeout_is_a_total_deadline(serve: list[FakeRangeApi]) -> None:
    trickle = _odd_server(serve, "trickle")  # 40 bytes 0.2 s apart: 8 s, each read quick
    began = time.monotonic()
    found = _api_policy(trickle.url, timeout=1.0).problems(GOOD[0], "jsmith")
    assert time.monotonic() - began < 3, "one deadline for the whole check"
    assert len(found) == 1 and "timed out" in found[0], found


@pytest.mark.parametrize(
    "password", ["Browse.Possum.1987!", "Quokka-Velvet-Tundra-77", "  Vesper Quokka Lantern  "]
)
def test_one_range_request_per_password_the_password_as_typed(
    serve: list[FakeRangeApi], password: str
) -> None:
    api = start(serve, FakeRangeApi({}))
    _api_policy(api.url).problems(password, "jsmith")
    assert [p for p, _ in api.seen] == ["/range/" + sha1(password)[:5]]


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("jsmith", "John-Smith-1985"),  # a run-together username: initial + surname
        ("jsmith", "Smith.Family.2024"),
        ("jsmith", "SmithJohn1985!"),
        ("jsmith", "smith.j.1985!!"),
        ("jsmith", "JJSSMMIITTHH99"),  # doubled letters
        ("smithjones", "jones-smith-1990"),  # two names of data/names run together
        ("bob.jones", "bboobb-jjoonneess"),
        ("bob.jones", "\u0299\u1d0f\u0299\u1d0a\u1d0f\u0274\u1d07\ua731.chi.2024"),  # small caps
        (
            "bob.jones",
            "\U0001f171\U0001f17e\U0001f171\U0001f179\U0001f17e\U0001f17d\U0001f174\U0001f1822024!",
        ),
        ("bob.jones", "\u1472ob.jo\u0274es.2024"),  # Canadian syllabics KA for b
        ("bob.jones", "b0bj0n3z2024!!"),  # z for s
        ("bob.jones", "bobjonez.2024!"),
        ("bob", "Bob1Bob1Bob1Bob!"),  # digits between repeats are separators
        ("bob", "Bob!Bob!Bob!2024"),
        ("bob.jones", "b\u200bo\u200bb\u200bj\u200bones2024"),  # zero-width spaces
        ("иван.петров", "ИВАН.ПЕТРОВ.2024!"),  # Cyrillic, case-folded alike
        ("pc4521", "4521!!police!!"),  # the collar number alone
    ],
)
def test_username_disguises_from_the_report_are_refused(username: str, password: str) -> None:
    assert built_on_username(password, username), (username, password)
    assert any(NOT_USERNAME in p for p in problems(password, username))


@pytest.mark.parametrize(
    "password",
    [
        "$unshine2024!!",  # leet at the first character
        "0ran9e2024!!!",
        "drowssap2024!!",  # reversed
        "password password",  # repetition
        "Liverpool!Liverpool",
        "xyzfootballqrs",  # letters on both ends
        "MyPassword2024!",
        "!QAZ2wsx#EDC4rfv",  # shifted digits of a keyboard walk
        "pass\u200bword\u200b2024!!",  # an invisible character inside
        "password\u200bpassword",
    ],
)
def test_trivial_transformations_of_breached_passwords_are_refused(password: str) -> None:
    found = problems(password, "jdoe")
    assert any("leaked in breaches" in p or "too easy" in p for p in found), (password, found)


def test_the_api_is_not_asked_about_transformations(serve: list[FakeRangeApi]) -> None:
    """Only the mirror and the sample see the variants; the API sees one prefix."""
    api = start(serve, FakeRangeApi({}))
    assert _api_policy(api.url).problems("xyzfootballqrs", "jdoe") == [BREACHED_CORE]
    assert [p for p, _ in api.seen] == [], "found locally: the API is not asked at all"


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("t.able", "comfortable otter lantern"),  # "able" inside "comfortable"
        ("t.able", "stapling-mower-spectator-steerable"),
        ("r.ring", "hazelnut.endearing.jockstrap.overjoyed"),
        ("tom.king", "swapping hacking snipping obtuse"),
        ("tom.king", "marrow preseason clanking proofread"),
        ("j.ward", "eggplant-eastward-basics-algorithm"),
        ("rose.hill", "resortconnectorunpaddeddischarge"),  # "esor": rose reversed, 4 letters
    ],
)
def test_short_parts_match_only_as_whole_words(username: str, password: str) -> None:
    assert not built_on_username(password, username), (username, password)


def test_short_words_around_a_common_one_are_words_not_added_characters() -> None:
    # "engineering" is in chi's sample; with spaces, "the" and "era" are words around it.
    assert problems("the engineering era", "jdoe") == []
    assert any("leaked" in p for p in problems("theengineeringera", "jdoe"))


@pytest.mark.parametrize(
    ("username", "password"),
    [("t.able", "Able-Otter-Lantern-9"), ("tom.king", "King.Tom.Lantern.7")],
)
def test_short_parts_as_whole_words_still_refuse(username: str, password: str) -> None:
    assert built_on_username(password, username)


# --- a maintained mirror must look like one ------------------------------------------------


@pytest.mark.real_minimums
def test_a_small_file_or_chis_own_sample_is_no_maintained_mirror(tmp_path: Path) -> None:
    from chi.state.passwords import sample_path

    tiny = tmp_path / "tiny.txt"
    tiny.write_text(f"{'0' * 40}:1\n{'F' * 40}:1\n")
    for corpus, words in [(tiny, "too small"), (sample_path(), "bundled sample")]:
        found = PasswordPolicy(breached_corpus=corpus, production=True).problems(GOOD[0], "j")
        assert len(found) == 1 and "could not be made" in found[0] and words in found[0], found


@pytest.mark.real_minimums
def test_a_partial_range_folder_is_no_maintained_mirror(tmp_path: Path) -> None:
    folder = range_folder(tmp_path, {}, [GOOD[0]])  # only the prefixes this password needs
    found = PasswordPolicy(breached_corpus=folder, production=True).problems(GOOD[0], "j")
    assert len(found) == 1 and "range files, not the 1,048,576" in found[0], found


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("", "fewer than"),  # an empty range file
        ("\n\n\n", "fewer than"),
        (f"{'F' * 40}:5\n", "another range"),  # a whole hash of another prefix
        (f"{'0' * 35}:\u00b2\n", "HASH:COUNT"),  # a superscript two is no count
    ],
)
def test_an_empty_or_foreign_range_file_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str, words: str
) -> None:
    from chi.state import breached

    monkeypatch.setattr(breached, "MIN_RANGE_LINES", 1, raising=False)
    folder = tmp_path / "hibp"
    folder.mkdir()
    prefix = sha1("vesper quokka lantern")[:5]
    (folder / f"{prefix}.txt").write_text(content)
    with pytest.raises(breached.CheckUnavailable, match=words):
        RangeFolder(folder).breached({sha1("vesper quokka lantern")})


def _sorted_lines(seed: int, n: int = 3000) -> list[str]:
    rng = random.Random(seed)
    return [
        f"{h}:{rng.randint(1, 99)}"
        for h in sorted({f"{rng.getrandbits(160):040X}" for _ in range(n)})
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_an_unsorted_stretch_in_a_sorted_file_refuses(tmp_path: Path, seed: int) -> None:
    from chi.state.breached import CheckUnavailable

    lines = _sorted_lines(seed)
    bad = lines[:100] + list(reversed(lines[100:2900])) + lines[2900:]
    path = tmp_path / "pwned.txt"
    path.write_text("\n".join(bad) + "\n")
    probe = {line[:40] for line in lines[100:2900:50]}
    with pytest.raises(CheckUnavailable, match="not sorted"):
        SortedHashFile(path).breached(probe)


def test_a_sorted_file_with_a_trailing_blank_line_still_answers(tmp_path: Path) -> None:
    lines = _sorted_lines(4, 500)
    path = tmp_path / "pwned.txt"
    path.write_text("\n".join(lines) + "\n\n\n")
    listed = {line[:40] for line in lines}
    assert SortedHashFile(path).breached(listed | {"0" * 40}) == listed


def test_a_file_of_nul_bytes_refuses_without_reading_it_whole(tmp_path: Path) -> None:
    from chi.state.breached import CheckUnavailable

    path = tmp_path / "pwned.txt"
    with path.open("wb") as f:
        f.truncate(3 * 1024**3)  # 3 GB of NUL bytes, sparse: no line end anywhere
    with pytest.raises(CheckUnavailable, match=r"too long|not a Pwned"):
        SortedHashFile(path).breached({sha1(GOOD[0])})


# --- the store and the command line ------------------------------------------------------


def test_a_store_given_no_policy_reads_the_configured_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "chi.toml").write_text('[app]\nstate_path = "s.sqlite"\ndemo = false\n')
    monkeypatch.setenv("CHI_CONFIG", str(tmp_path / "chi.toml"))
    store = Store(tmp_path / "s.sqlite", hasher=PasswordHasher(time_cost=1, memory_cost=1024))
    with pytest.raises(StoreError, match="no maintained breached-password check"):
        store.add_user("jsmith", GOOD[0], "analyst")
    with pytest.raises(StoreError, match="demo accounts"):
        store.add_user("sergeant", "demo", "analyst", demo=True)
    assert store.account("jsmith") is None and store.account("sergeant") is None


def test_a_demo_accounts_new_password_passes_the_policy(store: Store) -> None:
    store.add_user("sergeant", "demo", "analyst", demo=True)
    with pytest.raises(StoreError, match="at least 12"):
        store.set_password("sergeant", "a")


def test_undecodable_standard_input_is_one_clear_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "chi.toml").write_text('[app]\nstate_path = "s.sqlite"\ndemo = true\n')
    chi = Path(sys.executable).with_name("chi")
    done = subprocess.run(
        [str(chi), "users", "add", "jsmith", "--role", "analyst", "--password-stdin",
         "--config", str(tmp_path / "chi.toml")],
        input=b"correct horse \xff battery\n", capture_output=True, timeout=120,
    )  # fmt: skip
    err = done.stderr.decode()
    assert done.returncode == 2 and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1 and "UTF-8" in err, err


@pytest.mark.parametrize(
    "password",
    ["Browse.Possum.1987!" * 8, "plinth marmalade otter kite " * 10, "x" * 5000],
)
def test_a_long_password_is_rated_not_a_crash(password: str) -> None:
    found = problems(password, "bob.jones@met.police.uk")  # zxcvbn refuses over 72 characters
    assert password not in " ".join(found)


class _Proxy(http.server.BaseHTTPRequestHandler):
    """A forward proxy that records each CONNECT line and refuses it (no TLS needed)."""

    server: FakeRangeApi

    def do_CONNECT(self) -> None:
        self.server.seen.append((self.requestline, dict(self.headers.items())))
        self.send_response(403)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_the_api_goes_through_the_https_proxy_as_a_tunnel(
    serve: list[FakeRangeApi], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = FakeRangeApi({})
    proxy.RequestHandlerClass = _Proxy
    start(serve, proxy)
    for name in ("NO_PROXY", "no_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
    policy = _api_policy("https://api.example.org/range/", allow_http=False)
    found = policy.problems(GOOD[0], "jsmith")
    assert [line.rsplit(" ", 1)[0] for line, _ in proxy.seen] == ["CONNECT api.example.org:443"]
    assert len(found) == 1 and "could not be reached" in found[0], found


@pytest.mark.parametrize("seed", range(4))
def test_any_unicode_confusable_of_the_usernames_letters_is_refused(seed: int) -> None:
    """Each letter of a generated username swapped (70% of the time) for one of its
    look-alikes in the Unicode confusables data (UTS #39): mathematical, Greek, Cyrillic,
    Cherokee, Lisu, enclosed ... forms, capital or small."""
    from chi.state.lookalike import _confusables

    data = _confusables()
    rng = random.Random(seed)
    forenames, surnames = _names("forenames"), _names("surnames")
    for _ in range(100):
        username = f"{rng.choice(forenames)}.{rng.choice(surnames)}".lower()
        out = []
        for c in username:
            looks = [g for g in data.get(c, []) + data.get(c.upper(), []) if len(g) == 1]
            looks = [g for g in looks if not g.isascii()]
            out.append(rng.choice(looks) if looks and rng.random() < 0.7 else c)
        password = "".join(out) + "2024!!"
        assert built_on_username(password, username), (username, password)


def test_a_slow_name_lookup_is_inside_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """A socket timeout bounds reads, not the name lookup: the deadline bounds both."""
    import socket

    real = socket.getaddrinfo

    def slow(*args: object, **kwargs: object) -> object:
        time.sleep(3)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    began = time.monotonic()
    found = _api_policy("https://api.example.org/range/", timeout=1.0).problems(GOOD[0], "j")
    assert time.monotonic() - began < 2.5, "the check ends at its deadline"
    assert len(found) == 1 and "timed out" in found[0], found


@pytest.mark.parametrize(
    ("username", "password", "refused"),
    [
        ("jkowalczyk", "Kowalczyk.Family.99", True),  # an initial and a surname not listed
        ("amcgregor", "McGregor-Lantern-7", True),
        ("stable", "comfortable otter lantern", False),  # "table" is no surname here
        ("analyst", "catalyst lantern otter", False),
    ],
)
def test_run_together_usernames_split_into_an_initial_and_a_name(
    username: str, password: str, refused: bool
) -> None:
    assert built_on_username(password, username) == refused


# --- round 2: config values, secrets in messages, control characters, doubled suffixes ---


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("breached_api_timeout = inf", "breached_api_timeout"),
        ("breached_api_timeout = nan", "breached_api_timeout"),
        ("breached_api_timeout = 1e308", "breached_api_timeout"),
        ("breached_api_timeout = 0", "breached_api_timeout"),
        ("breached_api_timeout = 121", "breached_api_timeout"),
        ('breached_api_url = "https://[::1/range/"', "breached_api_url"),
        ('breached_api_url = "https://host:port/range/"', "breached_api_url"),
        ('breached_api_url = "https:///range/"', "breached_api_url"),
    ],
)
def test_api_settings_out_of_range_or_unparsable_are_refused(
    tmp_path: Path, line: str, key: str
) -> None:
    path = tmp_path / "chi.toml"
    path.write_text(f"[passwords]\n{line}\n")
    with pytest.raises(ValueError, match=key) as raised:
        load_config(path)
    assert "\n" not in str(raised.value)


def test_the_api_timeout_may_be_any_sane_number(tmp_path: Path) -> None:
    path = tmp_path / "chi.toml"
    for value in (0.5, 5, 120):
        path.write_text(f"[passwords]\nbreached_api_timeout = {value}\n")
        assert load_config(path).breached_api_timeout == value


def test_url_credentials_are_never_shown(
    serve: list[FakeRangeApi], caplog: pytest.LogCaptureFixture
) -> None:
    closed = FakeRangeApi({})
    port = closed.server_address[1]
    closed.server_close()
    url = f"http://u:SECRET@127.0.0.1:{port}/range/"
    found = _api_policy(url, timeout=0.5).problems(GOOD[0], "jsmith")
    assert len(found) == 1 and "could not be made" in found[0]
    assert "SECRET" not in found[0] and "u:" not in found[0]
    assert f"127.0.0.1:{port}/range/" in found[0]
    opened = PasswordPolicy(
        breached_api=True, breached_api_url=url, breached_api_timeout=0.5,
        breached_api_allow_http=True, breached_api_fail_open=True, production=True,
    )  # fmt: skip
    assert opened.problems(GOOD[0], "jsmith") == []
    assert "not checked against it" in caplog.text and "SECRET" not in caplog.text


@pytest.mark.parametrize("char", ["\x00", "\r", "\n", "\t", "\x1b", "\x7f", "\x85"])
def test_passwords_with_control_characters_are_refused(store: Store, char: str) -> None:
    password = f"Quokka{char}Velvet-Tundra-77"
    with pytest.raises(StoreError, match="control characters"):
        store.add_user("jsmith", password, "analyst")
    assert store.account("jsmith") is None
    store.add_user("jsmith", "Quokka Velvet-Tundra-77", "analyst")  # a space is no control


class _Doubled(http.server.BaseHTTPRequestHandler):
    """Lists the asked-for hash twice: first with a count, then with 0 (padding-like)."""

    server: FakeRangeApi

    def do_GET(self) -> None:
        prefix = self.path.rsplit("/", 1)[-1]
        lines = [f"{i:035X}:0" for i in range(120)]
        for h in self.server.breached:
            if h[:5] == prefix:
                lines += [f"{h[5:]}:5", f"{h[5:]}:0"]
        body = "\r\n".join(lines).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_suffix_listed_twice_with_any_positive_count_is_breached(
    serve: list[FakeRangeApi], tmp_path: Path
) -> None:
    server = FakeRangeApi({sha1(GOOD[0]): 5})
    server.RequestHandlerClass = _Doubled
    start(serve, server)
    assert _api_policy(server.url).problems(GOOD[0], "jsmith") == [BREACHED]
    # The same in a range folder mirror: one file listing the suffix twice.
    folder = tmp_path / "ranges"
    folder.mkdir()
    h = sha1(GOOD[0])
    (folder / f"{h[:5]}.txt").write_text(f"{h[5:]}:3\n{h[5:]}:0\n")
    assert RangeFolder(folder).breached({h}) == {h}


@pytest.mark.parametrize(
    "password",
    [
        "passsword2024!!",  # a letter doubled
        "pas7sword2024!",  # a digit inside
        "qwrty2024!!!",  # a letter dropped
        "psswrd2024!!!",  # vowels dropped
        "Drgn.2024!!!!",  # vowels dropped, a 3-letter skeleton of a 6-letter word
        "password&drowssap",  # the word and the word reversed
        "passworx2024!!",  # the last letter changed
        "qwrety2024!!",  # two neighbours swapped
        "Footbal1.2024!!",  # a letter dropped, a digit after
        "Monkeey-1987-!!",
    ],
)
def test_one_edit_of_a_common_password_is_refused(store: Store, password: str) -> None:
    from chi.state.passwords import BREACHED_EDIT

    found = problems(password, "jdoe")
    assert found and found[0] in (BREACHED, BREACHED_CORE, BREACHED_EDIT), found
    with pytest.raises(StoreError):
        store.add_user("jdoe", password, "analyst")


@pytest.mark.parametrize(
    ("a", "b", "near"),
    [
        ("password", "password", True),
        ("password", "passsword", True),
        ("password", "pasword", True),
        ("password", "passworx", True),
        ("password", "psasword", True),
        ("password", "psaswrod", False),
        ("password", "passwo", False),
        ("password", "drowssap", False),
    ],
)
def test_one_edit_is_hand_checked(a: str, b: str, near: bool) -> None:
    from chi.state.passwords import _one_edit

    assert _one_edit(a, b) is near and _one_edit(b, a) is near


def test_edits_of_common_passwords_refuse_no_passphrase() -> None:
    from chi.state.passwords import near_common

    rng = random.Random(12)
    words_ = "plinth marmalade otter kite quokka velvet tundra lantern vesper harbour gravel"
    words_ += " saddle orchid pebble walnut cobalt"
    for _ in range(300):
        phrase = rng.choice([" ", "-", "", "."]).join(rng.sample(words_.split(), 4))
        assert not near_common(phrase), phrase


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("s.o-neil", "ONeil.Garden.99"),  # adjacent parts joined: oneil
        ("p.o-kane", "OKane.Garden.99"),
        ("p.o_kane", "OKane.Garden.99"),
        ("m.d-arcy", "DArcy.Garden.99"),
        ("tom", "Tom.Garden.Fox9"),  # the whole username as a word, whatever its length
        ("lee", "Bruce.Lee.Fan.99"),
        ("bob", "Bruce.Bob.Fan.99"),
        ("bob.jones", "\u13f4\u13be\u13f4.\u13ab\u13be\u039d\u13ac\u054f.2024"),  # Cherokee
        ("bob.jones", "bob.J\u13beNES.2024"),
    ],
)
def test_round_two_username_gaps_are_refused(username: str, password: str) -> None:
    found = problems(password, username)
    assert found and NOT_USERNAME in found[0], found


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("tom", "atom bottom kite lamp"),  # a short username inside words is no word of it
        ("t.able", "comfortable otter kite lamp"),
        ("s.o-neil", "Soneta Harbour Gravel Kite"),
    ],
)
def test_short_usernames_inside_words_still_pass(username: str, password: str) -> None:
    assert problems(password, username) == []


@pytest.mark.production_default
def test_a_store_with_no_policy_and_no_configuration_is_production(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHI_CONFIG", raising=False)
    store = Store(tmp_path / "s.sqlite", hasher=PasswordHasher(time_cost=1, memory_cost=1024))
    assert store.policy().production
    with pytest.raises(StoreError, match="no maintained breached-password check"):
        store.add_user("jsmith", GOOD[0], "analyst")
    with pytest.raises(StoreError, match="demo accounts"):
        store.add_user("sergeant", "demo", "analyst", demo=True)
    assert store.accounts() == []
    # A demonstration says so: its own policy, given explicitly.
    demo = Store(tmp_path / "s.sqlite", password_policy=PasswordPolicy())
    demo.add_user("sergeant", "demo", "analyst", demo=True)
    assert [a.username for a in demo.accounts()] == ["sergeant"]
