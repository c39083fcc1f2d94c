"""The schema library Home Assistant validates with.

Home Assistant 2026 validates with probatio (a drop-in for voluptuous, which
it also registers under the ``voluptuous`` name); earlier releases use
voluptuous itself. Importing it from here keeps the types right on both.
"""

try:
    import probatio as vol
except ImportError:  # Home Assistant before 2026: voluptuous
    import voluptuous as vol  # type: ignore[no-redef]

__all__ = ["vol"]
