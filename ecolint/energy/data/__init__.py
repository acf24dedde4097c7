"""Measurement data shipped with ecolint (see SOURCES.md)."""
