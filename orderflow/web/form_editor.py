"""Process owners edit a process's JSON-Schema forms beside a live preview; saves go into the draft."""
from __future__ import annotations

import json
from contextlib import nullcontext
from urllib.parse import quote

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import Markup

from orderflow.access.permissions import require_deployer
from orderflow.core.errors import Conflict, InvalidInput
from orderflow.core.models import User
from orderflow.web.auth import current_actor, login_required
from orderflow.web.db_session import get_session
from orderflow.web.locale import current_languages
from orderflow.web.present import localize_fields
from orderflow.workflow import definitions, form_editor, forms

bp = Blueprint("form_editor", __name__)


def _deployer() -> User:
    actor = current_actor()
    require_deployer(actor)
    return actor


@bp.context_processor
def _helpers() -> dict:
    def form_source(source: str) -> str:
        names = {"draft": _("Draft"), "version": _("Deployed version"), "forms": _("Library (forms/)")}
        return names.get(source, source)

    def modeler_url(key: str) -> str:
        # The modeler lives in another blueprint; a plain path keeps this page independent of it.
        return f"{request.script_root}/processes/{quote(key, safe='')}/edit"
    return {"form_source": form_source, "modeler_url": modeler_url}


@bp.get("/processes/<key>/forms")
@login_required
def index(key: str):
    return _list_page(key)


@bp.post("/processes/<key>/forms")
@login_required
def create(key: str):
    session, actor = get_session(), _deployer()
    form_key, title = request.form.get("form_key", "").strip(), request.form.get("title", "").strip()
    try:
        form_editor.new_form(session, actor, key, form_key, title)
    except (InvalidInput, Conflict) as exc:
        session.rollback()
        errors = localize_fields(exc.fields) if isinstance(exc, InvalidInput) else {}
        return _list_page(key, error=exc, errors=errors, typed={"form_key": form_key, "title": title},
                          status=exc.status)
    flash(_("Form %(key)s created in the draft.", key=form_key), "success")
    return redirect(url_for("form_editor.edit", key=key, form_key=form_key))


def _list_page(key: str, error=None, errors=None, typed=None, status: int = 200):
    session = get_session()
    items = form_editor.listing(session, _deployer(), key)
    latest = definitions.latest_version(session, key)
    return render_template("form_editor/form_list.html", key=key, process_name=latest.name if latest else key,
                           items=items, error=error, errors=errors or {}, typed=typed or {}), status


@bp.get("/processes/<key>/forms/<form_key>")
@login_required
def edit(key: str, form_key: str):
    source, schema = form_editor.open_form(get_session(), _deployer(), key, form_key)
    text = json.dumps(schema, indent=2, ensure_ascii=False)
    return _editor(key, form_key, source, text, form_editor.fingerprint(schema))


@bp.post("/processes/<key>/forms/<form_key>")
@login_required
def save(key: str, form_key: str):
    session, actor = get_session(), _deployer()
    text = request.form.get("schema_text", "")
    try:
        form_editor.save(session, actor, key, form_key, text, base=request.form.get("base") or None)
    except (InvalidInput, Conflict) as exc:
        session.rollback()
        source, schema = form_editor.open_form(session, actor, key, form_key)
        # After a conflict the next save knowingly replaces the other version.
        base = form_editor.fingerprint(schema) if isinstance(exc, Conflict) else request.form.get("base", "")
        return _editor(key, form_key, source, text, base, error=exc, status=exc.status)
    flash(_("Saved in the draft; deploy the process to use it."), "success")
    return redirect(url_for("form_editor.edit", key=key, form_key=form_key))


@bp.post("/processes/<key>/forms/<form_key>/preview")
@login_required
def preview(key: str, form_key: str):
    _deployer()
    return _preview_html(form_key, request.form.get("schema_text", ""), request.form.get("preview_lang"))


def _editor(key: str, form_key: str, source: str, text: str, base: str, error=None, status: int = 200):
    preview_lang = request.form.get("preview_lang") if request.method == "POST" else None
    preview_lang = preview_lang if preview_lang in current_languages() else None
    return render_template("form_editor/form_editor.html", key=key, form_key=form_key, source=source, text=text,
                           base=base, error=error, preview_lang=preview_lang,
                           preview_html=Markup(_preview_html(form_key, text, preview_lang))), status


def _preview_html(form_key: str, text: str, preview_lang: str | None) -> str:
    """The form as the inbox renders it, in ``preview_lang`` when given; problems in the page's language."""
    result = form_editor.preview(text)
    values = forms.prefill(result.schema, {}) if result.schema else {}
    chosen = preview_lang if result.schema and preview_lang in current_languages() else None
    with force_locale(chosen) if chosen else nullcontext():
        return render_template("form_editor/partials/form_preview.html", preview=result, form_key=form_key,
                               values=values)
