"""wbsupply: books Wildberries FBW supply slots for sellers automatically."""

__version__ = "0.1.0"
