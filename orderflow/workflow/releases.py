"""What deploying a draft would release, asked before the deploy: what changes against the latest
version (steps, flows, groups, time limits, the forms the steps use) and how many running orders
stay on the versions they started on (they keep them; moving them is a choice made on the
versions page)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderflow.access.permissions import require_deployer
from orderflow.core.errors import NotFound
from orderflow.core.i18n import Msg
from orderflow.core.models import Instance, ProcessVersion, User
from orderflow.engine import DeployRejected, Problem, ProcessDef
from orderflow.workflow import definitions, drafts, form_diff, versions

OPEN = ("running", "suspended", "error")


def preview(session: Session, actor: User, key: str) -> dict[str, Any]:
    """``{ok, problems}`` when the draft does not compile; else ``{ok, from, changes, summary,
    staying, staying_total}``: ``changes`` as GET …/diff gives them (None for a first version)."""
    require_deployer(actor)
    try:
        new = draft_definition(session, key)
    except DeployRejected as exc:
        return {"ok": False, "problems": [p.as_dict() for p in exc.problems]}
    latest = definitions.latest_version(session, key)
    changes = None
    if latest is not None:
        old = definitions.definition(session, latest)
        start_form = new.start.form_key if new.start else None
        new_forms = form_diff.used_forms([start_form, *(e.form_key for e in new.elements.values())], new.forms)
        changes = versions.compare(old, versions.used_forms(session, latest, old), new, new_forms)
    staying = [{"version": version, "orders": count} for version, count in session.execute(
        select(ProcessVersion.version, func.count(Instance.id))
        .join(Instance, Instance.process_version_id == ProcessVersion.id)
        .where(ProcessVersion.key == key, Instance.status.in_(OPEN))
        .group_by(ProcessVersion.version).order_by(ProcessVersion.version))]
    return {"ok": True, "from": latest.version if latest else None, "changes": changes,
            "summary": summary(changes), "staying": staying, "staying_total": sum(s["orders"] for s in staying)}


def draft_definition(session: Session, key: str) -> ProcessDef:
    """The draft's own process, compiled as its deploy would be. NotFound without a draft;
    DeployRejected with the problems when it does not compile."""
    draft = drafts.get(session, key)
    if draft is None:
        raise NotFound(Msg("There is no draft of '%(key)s' to deploy.", key=key))
    defs, _ = drafts.compiled(session, drafts.bundle(draft))
    new = next((d for d in defs if d.key == key), None)
    if new is None:
        raise DeployRejected([Problem(Msg("No executable process with id '%(key)s'.", key=key), file=draft.main_file)])
    return new


def summary(changes: dict[str, Any] | None) -> dict[str, list[str]]:
    """The changes as short lists of names, one per kind, for the deploy dialog."""
    if changes is None:
        return {}
    flows, forms = changes["flows"], changes["forms"]

    def flow(f: dict[str, Any]) -> str:
        return f.get("name") or f"{f.get('source_name') or f['source']} → {f.get('target_name') or f['target']}"
    found = {
        "steps_added": [e["name"] or e["element_id"] for e in changes["added"]],
        "steps_removed": [e["name"] or e["element_id"] for e in changes["removed"]],
        "steps_changed": [e["name"] or e["element_id"] for e in changes["changed"]
                          if any(c["attribute"] != "sla" for c in e["changes"])],
        "time_limits": [e["name"] or e["element_id"] for e in changes["changed"]
                        if any(c["attribute"] == "sla" for c in e["changes"])],
        "groups": [e["name"] or e["element_id"] for e in changes["moved"]],
        "flows": [flow(f) for kind in ("added", "removed", "changed") for f in flows[kind]],
        "forms": [f["title"] for kind in ("added", "removed", "changed") for f in forms[kind]],
    }
    return {kind: names for kind, names in found.items() if names}
