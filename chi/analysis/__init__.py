"""Analyses of a published run: harm concentration, repeats, escalation, breakdowns,
over-recording and the board's safeguarding table, brought together by ``profile`` into the
domestic abuse problem profile and rendered by ``report``.

Every figure is a pure function of a run and its extract (``source`` reads them); every
sentence that describes a figure is generated from it (``readings``). Nothing here imports
Streamlit: the command line, the app and the tests call the same functions.
"""
