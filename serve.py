"""chi's hardened server: ``uvicorn serve:app --host 127.0.0.1 --port 8501`` from this folder
(or ``streamlit run serve.py``). The app itself is ``app.py``; see chi/app/server.py."""

from streamlit.starlette import App

from chi.app.server import APP_SCRIPT, hardening

try:
    app = App(str(APP_SCRIPT), **hardening())
except ValueError as exc:  # a configuration that cannot be used: say so, exit non-zero
    raise SystemExit(f"chi cannot start: {exc}") from None
