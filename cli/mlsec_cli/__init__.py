"""`mlsec`: push results to the MLSec Portal and gate on its verdict (docs/ci.md)."""

__version__ = "1.0.0"
