"""chi: Crime Harm Index victim-risk prioritisation.

The pipeline, one package per stage, each importing only from the stages before it:
``extract`` (read, validate, import) -> ``scoring`` (prepare, score with the SQL in ``sql/``,
publish runs, diff) -> ``reading`` (a run for a scope) -> ``exports`` -> ``meetings`` ->
``analysis`` -> ``forecast`` -> ``app``; ``state`` holds accounts, sessions and the audit log;
``generate`` makes synthetic extracts; ``cli`` is the ``chi`` command. The base modules here
(``contract``, ``reference``, ``offences``, ``months``, ``settings``, ``sql``, ``progress``,
``errors``) serve every stage.
"""

__version__ = "0.1.0"
