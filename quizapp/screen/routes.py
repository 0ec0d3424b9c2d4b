"""Big-screen views."""

from . import bp  # noqa: F401
