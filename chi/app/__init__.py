"""The Streamlit app: what neighbourhood teams, area meetings and analysts open.

The only package under ``chi`` that imports Streamlit. It decides layout and interaction
only: who the user is comes from ``chi.state.auth`` and ``chi.state.store``, what they may
see from the scoped queries of ``chi.reading.lists`` (the scope is a parameter of every query
and of every cache key), files from ``chi.exports``. ``script/chi_app.py`` (the
script Streamlit runs) calls ``main``; ``serve.py`` is the hardened ASGI app that serves it
(``uvicorn chi.app.serve:app``).
"""
