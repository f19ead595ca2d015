"""Managers: the order board."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("board", __name__)


@bp.get("/board")
def index():
    return "coming soon"  # placeholder: replaced by the real page
