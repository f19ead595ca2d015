"""Process owners' pages: the modeler for a process's draft, and a new blank process."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from orderflow.access.permissions import require_deployer
from orderflow.core.errors import Conflict, DeployFailed, InvalidInput
from orderflow.core.models import ProcessDraft, ProcessVersion
from orderflow.web.api import uploaded_files
from orderflow.web.auth import current_actor, login_required
from orderflow.web.db_session import get_session
from orderflow.web.paging import int_arg
from orderflow.web.present import localize, localize_fields
from orderflow.workflow import definitions, drafts, processes, what_if

bp = Blueprint("modeler", __name__)


@bp.get("/processes/<key>/edit")
@login_required
def edit(key: str):
    session = get_session()
    draft = drafts.open_draft(session, current_actor(), key, persist=False)  # 403, or 404 for an unknown key
    versions = list(session.scalars(select(ProcessVersion.version).where(ProcessVersion.key == key)
                                    .order_by(ProcessVersion.version)))
    latest = definitions.latest_version(session, key)
    return render_template("modeler/modeler.html", key=key, name=latest.name if latest else key, versions=versions,
                           base_version=draft.base_version, deployed=definitions.deployed_element_ids(session, key))


@bp.get("/processes/<key>/what-if")
@login_required
def what_if_page(key: str):
    """The draft's effect on waiting orders, time limits and cycle time, replayed from history."""
    session = get_session()
    latest = definitions.latest_version(session, key)
    name = latest.name if latest else key
    try:
        weeks = int_arg("weeks")
        result = what_if.forecast(session, current_actor(), key, what_if.WEEKS if weeks is None else weeks)
    except InvalidInput as exc:
        return render_template("modeler/what_if.html", key=key, name=name, result=None, weeks=request.args.get("weeks"),
                               error=exc, max_weeks=what_if.MAX_WEEKS), 422
    return render_template("modeler/what_if.html", key=key, name=name, result=result, weeks=result.weeks, error=None,
                           max_weeks=what_if.MAX_WEEKS, max_sample=what_if.MAX_SAMPLE)


@bp.post("/processes/upload")
@login_required
def upload() -> tuple[Response, int]:
    """Deploy a bundle (.bpmn, .dmn, form .json) from the processes page, with a release note."""
    session, actor = get_session(), current_actor()
    require_deployer(actor)
    warnings: list[dict] = []
    try:
        rows = processes.deploy(session, actor, uploaded_files(), warnings=warnings, note=request.form.get("note"))
    except (InvalidInput, DeployFailed) as exc:
        session.rollback()
        flash(localize(exc.message), "danger")
        for problem in getattr(exc, "problems", [])[:5]:
            flash(f"{problem.get('file') or ''} {problem.get('element_id') or ''}: {localize(problem['message'])}"
                  .strip(), "danger")
        return redirect(url_for("versions.index")), 303
    flash(_("Deployed: %(versions)s.", versions=", ".join(f"{r.key} v{r.version}" for r in rows)), "success")
    for warning in warnings[:5]:
        flash(f"{warning.get('element_id') or ''}: {localize(warning['message'])}", "warning")
    return redirect(url_for("versions.index")), 303


@bp.route("/processes/new", methods=["GET", "POST"])
@login_required
def new_process():
    session, actor = get_session(), current_actor()
    require_deployer(actor)
    error, fields, status = None, {}, 200
    if request.method == "POST":
        key, name = request.form.get("key", "").strip(), request.form.get("name", "").strip()
        try:
            drafts.new_process(session, actor, key, name)
        except (InvalidInput, Conflict) as exc:  # shown on the form, with what was typed
            session.rollback()
            error, status = localize(exc.message), exc.status
            fields = localize_fields(exc.extra.get("fields"))
        else:
            return redirect(url_for("modeler.edit", key=key))
    unreleased = session.scalars(select(ProcessDraft.key).where(ProcessDraft.base_version.is_(None))
                                 .order_by(ProcessDraft.key))
    return render_template("modeler/modeler_new.html", error=error, fields=fields, form=request.form,
                           processes=definitions.list_latest(session), unreleased=list(unreleased)), status
