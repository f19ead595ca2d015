"""Service-task handlers, registered by name in ``REGISTRY``.

Importing this package imports every handler module, so ``REGISTRY`` is complete.
"""
from .registry import REGISTRY, Refused, handler
from . import orders  # noqa: F401  (registers the order-flow handlers)
from . import payments  # noqa: F401  (registers the payment ledger)
from . import after_sales  # noqa: F401  (registers the after-sales and survey handlers)

__all__ = ["REGISTRY", "Refused", "handler"]
