"""Measurement data, model-size resolution and energy arithmetic shared by the linter and advisor."""
