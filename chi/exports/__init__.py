"""Exports: the list as people see it (``listview``), its files (``formats``: CSV, XLSX, PDF)
and downloads gated at the moment data leaves (``downloads``).
"""
