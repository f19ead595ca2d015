"""Customer files (staff, managers): search the customers, open one customer's file — pages and JSON."""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request

from orderflow.access.permissions import require
from orderflow.core.errors import InvalidInput
from orderflow.core.i18n import Msg
from orderflow.orders import customers
from orderflow.web.auth import current_actor, login_required
from orderflow.web.db_session import get_session
from orderflow.web.present import localize, localize_fields

bp = Blueprint("customers", __name__)


def _limit() -> int:
    raw = (request.args.get("limit") or "").strip()
    if not raw:
        return customers.DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= customers.MAX_LIMIT:
        raise InvalidInput(Msg("Ask for 1 to %(n)s customers at a time.", n=customers.MAX_LIMIT),
                           fields={"limit": Msg("between 1 and %(n)s", n=customers.MAX_LIMIT)})
    return int(raw)


@bp.get("/customers")
@login_required
def index():
    session, actor = get_session(), current_actor()
    require(actor, "customer.read")
    q = request.args.get("q", "")
    try:
        found = customers.search(session, actor, q)
    except InvalidInput as exc:
        return render_template("customers/customers.html", q=q[:customers.MAX_QUERY], found=[],
                               error=localize(exc.message), errors=localize_fields(exc.fields)), 422
    return render_template("customers/customers.html", q=q.strip(), found=found, error=None, errors={})


@bp.get("/customers/<path:name>")
@login_required
def file(name: str):
    found = customers.customer_file(get_session(), current_actor(), name)
    return render_template("customers/customer.html", file=found)


@bp.get("/api/v1/customers")
def api_index():
    session, actor = get_session(), current_actor()
    require(actor, "customer.read")   # before the parameters: strangers get 403, not 422
    q = request.args.get("q", "")
    found = customers.search(session, actor, q, _limit())
    return jsonify(items=[customers.summary_dict(c) for c in found], q=q.strip())


@bp.get("/api/v1/customers/<path:name>")
def api_file(name: str):
    return jsonify(customers.as_dict(customers.customer_file(get_session(), current_actor(), name)))
