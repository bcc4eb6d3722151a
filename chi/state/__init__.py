"""State: the app's SQLite ``store``, one ``Store`` made of its parts: ``db`` (the connection,
transactions and migrations), ``accounts`` (argon2id hashes, lock-outs), ``sessions`` (sign-in
tokens) and ``audit`` (the hash-chained log; ``anchor`` keeps its head elsewhere); the
``passwords`` policy (with ``breached``) and ``auth`` (who a signed-in person is to chi).
"""
