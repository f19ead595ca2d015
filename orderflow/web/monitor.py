"""Managers: the diagram view with live counts."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("monitor", __name__)


@bp.get("/monitor")
def diagram():
    return "coming soon"  # placeholder: replaced by the real page
