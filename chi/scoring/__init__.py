"""Scoring: ``prepare`` an extract (read, validate, stage, weight), ``score`` the monthly lists,
publish and reproduce ``runs``, ``diff`` two runs; the ``policy`` and the ``class_rule`` it applies.
"""
