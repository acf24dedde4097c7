"""ecolint: a linter and energy advisor for code that runs large language models."""

__version__ = "0.1.0"
