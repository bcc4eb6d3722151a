"""State: the app's SQLite ``store`` (accounts, sign-in sessions, the audit log), the ``passwords``
policy and ``auth`` (who a signed-in person is to chi).
"""
