"""Errors as one line a person can act on: the command line's boundary uses these.

``describe`` turns an exception chi did not anticipate into one line that names the file
involved and what to do. It never repeats a database engine's or Arrow's own message,
because those can quote a data value (a name, an address); ``chi --debug`` shows the full
traceback for whoever has the right to see it. ``terminal_text`` makes data text safe to
print: control characters (ANSI escapes, carriage returns, tabs) are shown escaped.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import tempfile

MEMORY_ENV = "CHI_MEMORY_LIMIT"
"""The environment variable that caps DuckDB's memory (``chi.scoring.prepare``)."""

_OS_ADVICE = {
    errno.ENOSPC: "the disk is full; free some space and run it again",
    errno.EDQUOT: "the disk quota is used up; free some space and run it again",
    errno.EROFS: "the file system is read-only; choose a folder that can be written",
    errno.EACCES: "permission denied; choose a folder you can write, or ask for access",
    errno.EPERM: "operation not permitted; choose a folder you can write, or ask for access",
    errno.ENOTDIR: "part of this path is a file, not a folder; choose another path",
    errno.EISDIR: "is a folder where a file was expected; choose another path",
    errno.EEXIST: "already exists; move it away or choose another path",
    errno.ENOENT: "no such file or folder",
    errno.ENOTEMPTY: "the folder is not empty; move it away or choose another path",
    errno.EIO: "the disk reported an input/output error; check the disk and run it again",
    errno.ENAMETOOLONG: "the path is too long; choose a shorter one",
}


def terminal_text(text: str) -> str:
    """``text`` with every non-printable character escaped (``\\x1b``, ``\\t``, ``\\u200b``)."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch.isprintable():
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    return "".join(out)


_LIBRARIES = ("duckdb", "_duckdb", "pyarrow", "polars")


def from_a_library(exc: BaseException) -> bool:
    """An exception raised by DuckDB, Arrow or polars, whose message may quote data."""
    return type(exc).__module__.split(".")[0] in _LIBRARIES


EXTRA_OF = {
    "streamlit": ("app", "Streamlit"),
    "starlette": ("app", "Starlette"),
    "uvicorn": ("app", "uvicorn"),
    "authlib": ("app", "Authlib"),
    "altair": ("report", "Altair"),
    "vl_convert": ("report", "vl-convert"),
    "fpdf": ("report", "fpdf2"),
    "sklearn": ("model", "scikit-learn"),
    "scipy": ("model", "SciPy"),
    "joblib": ("model", "joblib"),
    "threadpoolctl": ("model", "threadpoolctl"),
}
"""The libraries of chi's extras (pyproject.toml), by module: the core (generate, import,
validate, score, publish, export CSV and XLSX, accounts) runs without any of them."""


def missing_extra(exc: BaseException) -> str | None:
    """The line for a library of one of chi's extras that is not installed, or None."""
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    found = EXTRA_OF.get(exc.name.split(".")[0])
    if found is None:
        return None
    extra, library = found
    return (
        f"this needs {library}, which comes with chi's {extra!r} extra: "
        f"pip install 'chi[{extra}]' (or 'chi[app]' for everything)"
    )


def _free_space(folder: str) -> str:
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return "an unknown amount"
    return f"{free / 2**30:.1f} GiB" if free >= 2**30 else f"{free / 2**20:.1f} MiB"


def describe(exc: BaseException) -> str:
    """One line for an exception that no command turned into a message of its own."""
    extra = missing_extra(exc)
    if extra is not None:
        return extra
    if type(exc).__module__.split(".")[0] == "chi":  # chi's own errors say what to do
        return terminal_text(str(exc))
    if isinstance(exc, OSError) and not from_a_library(exc):
        where = exc.filename if exc.filename is not None else None
        advice = _OS_ADVICE.get(exc.errno or -1) or (exc.strerror or type(exc).__name__)
        name = terminal_text(str(where)) if where is not None else "a file"
        return f"{name}: {advice}"
    if isinstance(exc, sqlite3.Error):
        return (
            f"the state store failed ({type(exc).__name__}); check that its file is a chi "
            "state store and that its folder can be written (chi --debug shows details)"
        )
    module = type(exc).__module__.split(".")[0]
    if module in ("duckdb", "_duckdb") and type(exc).__name__ == "OutOfMemoryException":
        # the cap was reached and what did not fit could not be spilled (DuckDB spills up
        # to the temporary folder's free space): either can be the one to change
        cap = os.environ.get(MEMORY_ENV, "").strip()
        cap = f"{MEMORY_ENV}={terminal_text(cap)}" if cap else "half the machine's memory"
        spill = tempfile.gettempdir()
        return (
            f"DuckDB ran out of memory under its cap ({cap}) with {_free_space(spill)} free "
            f"to spill to in {terminal_text(spill)}; set {MEMORY_ENV} higher (12GB, say), "
            "free disk space there (or set TMPDIR to a larger disk), or score fewer months "
            "at once"
        )
    if module in ("duckdb", "_duckdb"):
        return (
            f"the extract could not be processed ({type(exc).__name__}): a file may be "
            "damaged or of an unexpected type; run `chi validate` on the extract, export "
            "damaged files again (chi --debug shows details, which may include data values)"
        )
    if module in ("pyarrow", "polars"):
        return (
            f"a Parquet or CSV file could not be read or written ({type(exc).__name__}); "
            "export it again (chi --debug shows details, which may include data values)"
        )
    if isinstance(exc, MemoryError):
        return "ran out of memory; close other programs or score fewer months at once"
    if isinstance(exc, RecursionError):
        return "an input is nested too deeply to read; check the files given"
    return (
        f"unexpected error ({type(exc).__name__}); run again with `chi --debug` and "
        "report the traceback"
    )
