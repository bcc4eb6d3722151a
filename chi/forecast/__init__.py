"""Forecasting and backtesting: test a victim list as a bet on who will be harmed next.

A list month's list is compared with what happened afterwards, on the force's own history:
``timecut`` decides what a list month may know, ``history`` loads it from a prepared
extract, ``features`` builds the person x list-month table, ``backtest`` ranks the pool
under each policy and measures the share of later harm caught, ``forecast`` fits and keeps
the scikit-learn models, ``fairness`` audits who is listed and who is missed, and ``card``
writes it all up as a model card. Nothing here imports Streamlit.
"""

import os

# Predictions run on every core (chi.forecast.model.prediction_threads). OpenMP threads that
# busy-wait between the many short predictions of an explanation or a permutation
# importance made them 10-30x slower on a shared, loaded server; passive waiting costs
# nothing when the cores are free. Set before scikit-learn loads its OpenMP runtime (every
# chi.forecast module imports this package first); a value the user set is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
