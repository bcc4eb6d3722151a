"""Area meetings: ``decisions`` (the record, its import and cohorts), the ``impact`` review and
the meeting ``pack``.
"""
