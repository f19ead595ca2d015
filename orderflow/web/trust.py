"""What makes an order's record trustworthy, for people: the printable sales list with its
electronic signatures, and the order's audit trail as CSV. Whoever may view the order may read both."""
from __future__ import annotations

import re

from flask import Blueprint, Response, render_template

from orderflow.core import audit
from orderflow.web.auth import current_actor, login_required
from orderflow.web.db_session import get_session
from orderflow.web.present import now
from orderflow.workflow import definitions, instances, signatures

bp = Blueprint("trust", __name__)


def audit_csv_response(instance_id: int) -> Response:
    """Also ``GET /api/v1/instances/<id>/audit?format=csv``."""
    session = get_session()
    instance = instances.get(session, current_actor(), instance_id)
    text = "\ufeff" + audit.csv_text(audit.events(session, instance_id))  # BOM: Excel reads UTF-8 then
    name = re.sub(r"[^A-Za-z0-9_-]", "_", instance.business_key or str(instance.id))
    response = Response(text.encode("utf-8"), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="audit-{name}.csv"'
    return response


@bp.get("/orders/<int:instance_id>/audit.csv")
@login_required
def audit_csv(instance_id: int):
    return audit_csv_response(instance_id)


@bp.get("/orders/<int:instance_id>/sales-list")
@login_required
def sales_list(instance_id: int):
    session = get_session()
    view = instances.view(session, current_actor(), instance_id)
    version = view.instance.version
    # field labels from the forms that show these facts: the start form, then the signature steps' forms
    forms_of = definitions.forms_of(session, version)
    props: dict = dict((forms_of.get(version.start_form or "") or {}).get("properties") or {})
    for info in view.pdef.elements.values():
        if info.signature and info.form_key:
            props.update((forms_of.get(info.form_key) or {}).get("properties") or {})
    return render_template("trust/sales_list.html", view=view, props=props, now=now(),
                           states=signatures.states(session, instance_id, view.data))
