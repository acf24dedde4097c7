"""Energy advisor commands: estimate, optimize, compare, diagnose and the data listing.

Each command validates its inputs (``validation``), asks the estimator (``ecolint.energy.estimator``)
for measured or modelled figures, builds a report (one module per command) and renders it as
Markdown or JSON (``report``).
"""
