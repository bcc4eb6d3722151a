"""The Streamlit app: what neighbourhood teams, area meetings and analysts open.

The only package under ``chi`` that imports Streamlit. It decides layout and interaction
only: who the user is comes from ``chi.auth`` and ``chi.store``, what they may see from the
scoped queries of ``chi.lists`` (the scope is a parameter of every query and of every cache
key), files from ``chi.export``. ``app.py`` at the repository root runs ``main``.
"""
