"""chi's Streamlit app: `streamlit run app.py` (or `chi demo`). Everything is in chi.app."""

from chi.app.main import main

main()
