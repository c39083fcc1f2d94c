"""The schema library Home Assistant validates with.

Newer Home Assistant validates with probatio (a drop-in for voluptuous,
which it also registers under the ``voluptuous`` name); older releases use
voluptuous itself. Importing it from here keeps the types right on both.
"""

try:
    import probatio as vol
except ImportError:  # an older Home Assistant: voluptuous
    import voluptuous as vol  # type: ignore[no-redef]

__all__ = ["vol"]
