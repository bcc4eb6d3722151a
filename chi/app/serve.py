"""chi's hardened server: ``uvicorn chi.app.serve:app --host 127.0.0.1 --port 8501`` from any
folder (``chi demo`` does this). The app it serves is ``chi/app/script/chi_app.py``; the
hardening is in :mod:`chi.app.server`."""

from streamlit.starlette import App

from chi.app.server import APP_SCRIPT, hardening

try:
    app = App(str(APP_SCRIPT), **hardening())
except ValueError as exc:  # a configuration that cannot be used: say so, exit non-zero
    raise SystemExit(f"chi cannot start: {exc}") from None
