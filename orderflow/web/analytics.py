"""Managers: analytics for performance reviews."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("analytics", __name__)


@bp.get("/analytics")
def index():
    return "coming soon"  # placeholder: replaced by the real page
