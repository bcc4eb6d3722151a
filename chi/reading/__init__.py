"""Reading a published run for a scope: the lists a user may see, with display columns."""
