"""Organiser console views (thin: forms in, organising/analytics/posters out)."""

from . import bp  # noqa: F401
