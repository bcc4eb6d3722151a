"""chi's Streamlit app, the script Streamlit runs (``chi.app.serve`` serves it; ``chi demo``).

Everything is in :mod:`chi.app.main`. Streamlit's own settings for it are in
``.streamlit/config.toml`` beside this file (Streamlit's script-level configuration, which wins
over a ``.streamlit/config.toml`` in the folder the server is started from), so the app is
configured the same wherever chi is installed and whatever folder serves it.

The script has a folder of its own, with nothing else in it: Streamlit treats a ``pages/``
folder beside its script as pages of the app (``chi/app/pages`` holds modules, not
scripts), and puts the script's folder on ``sys.path`` while it runs, where chi's own module
names (``data``, ``text``, ``ui``...) would shadow any library's of the same name.
"""

from chi.app.main import main

main()
