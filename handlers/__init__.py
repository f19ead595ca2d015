"""Service-task handlers, registered by name in ``REGISTRY``.

Importing this package imports every handler module, so ``REGISTRY`` is complete.
"""
from . import (
    after_sales,  # noqa: F401  (registers the after-sales and survey handlers)
    orders,  # noqa: F401  (registers the order-flow handlers)
    payments,  # noqa: F401  (registers the payment ledger)
)
from .registry import REGISTRY, Refused, handler

__all__ = ["REGISTRY", "Refused", "handler"]
