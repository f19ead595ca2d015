"""The board's tunable limits, in one place (tests lower them to send small scenes down every path)."""
from __future__ import annotations

CHUNK = 500  # ids per IN list
FEW_ORDERS = 5_000  # order-level filters matching at most this many orders are resolved to ids first
SAMPLE_MAX = 20_000  # most task rows read at once when many orders pass the order-level filters
