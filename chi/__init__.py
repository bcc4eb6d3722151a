"""chi: Crime Harm Index victim-risk prioritisation.

The pipeline, one module per stage: ``contract`` (what an extract is) -> ``extract`` (read it
as typed DuckDB views) -> ``validate`` -> ``score`` (SQL in ``sql/``) -> ``runs`` (publish) ->
``export`` and the ``app``. ``generate`` makes synthetic extracts; ``calibrate`` checks them.
"""

__version__ = "0.1.0"
