"""Benchmarks and measuring instruments (scripts printing figures; never imported by ``grader/``).

A package so that the tests can import the diagnosis mutant corpus (``bench.diagnosis_corpus``)
with the repository root on ``sys.path``; the scripts themselves run as
``.venv/bin/python bench/<name>.py``.
"""
