"""Rule definitions shipped with ecolint: one YAML file per rule code."""
