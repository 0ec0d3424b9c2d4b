"""Number formatting shared by every page, chart and export, so one figure reads the same everywhere."""

from __future__ import annotations


def percent(share: float | None) -> str:
    """A 0..1 share as a percentage with one decimal: 2/1,250 is "0.2%", tiny non-zero shares "<0.1%"."""
    if share is None:
        return "—"
    if share <= 0:
        return "0%"
    if share < 0.001:
        # one decimal would print 0.0%, which reads as nobody at all
        return "<0.1%"
    return f"{share * 100:.1f}%"
