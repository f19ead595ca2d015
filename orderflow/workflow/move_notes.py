"""What moving an order to another version changes for the people working on it, step by open step:
its group, its form (another form, or fields added, removed, now required or no longer), and its
time limit with the due time it gives. The versions page shows these beside each order of a dry run."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from orderflow.access.permissions import group_word
from orderflow.core import timefmt
from orderflow.core.i18n import N_, Msg, element_name
from orderflow.core.models import HumanTask
from orderflow.engine import ProcessDef, Snapshot, due_at
from orderflow.workflow import form_diff


def notes(rows: Iterable[HumanTask], new: ProcessDef, snap: Snapshot, forms_before: Mapping[str, Any],
          forms_after: Mapping[str, Any], config: Mapping[str, Any]) -> list[Msg]:
    """``rows``: the order's open task rows (of the version it is on); ``snap``: the moved workflow's."""
    ready = {r.task_uuid: r for r in snap.ready}
    zone = timefmt.company_zone(config)
    found: list[Msg] = []
    for row in rows:
        task = ready.get(row.task_uuid)
        info = new.elements.get(task.element_id) if task is not None else None
        if info is None:
            continue
        step = element_name(info.name)
        if info.group != row.group_id:
            found.append(Msg("'%(step)s' goes to the %(group)s group instead of %(old)s.",
                             step=step, group=group_word(info.group), old=group_word(row.group_id)))
        found += _form_notes(step, row.form_key, info.form_key, forms_before, forms_after)
        due = due_at(info.sla, row.ready_at)
        if due != row.due_at:
            found.append(_due_note(step, row.due_at, due, zone))
    return found


def _due_note(step: str, old, new, zone) -> Msg:
    if old is None:
        return Msg("'%(step)s' gets a time limit: due %(due)s.", step=step, due=timefmt.at(new, zone))
    if new is None:
        return Msg("'%(step)s' no longer has a time limit (it was due %(old)s).", step=step,
                   old=timefmt.at(old, zone))
    return Msg("'%(step)s' is due %(due)s instead of %(old)s: its time limit changes.", step=step,
               due=timefmt.at(new, zone), old=timefmt.at(old, zone))


def _form_notes(step: str, old_key: str | None, new_key: str | None, forms_before: Mapping[str, Any],
                forms_after: Mapping[str, Any]) -> list[Msg]:
    if old_key != new_key:
        return [Msg("'%(step)s' shows the form %(form)s instead of %(old)s.", step=step, form=new_key or "—",
                    old=old_key or "—")]
    before, after = forms_before.get(old_key or ""), forms_after.get(new_key or "")
    if not isinstance(before, dict) or not isinstance(after, dict) or before == after:
        return []
    diff = form_diff.diff_forms({"f": before}, {"f": after}, {})
    if not diff["changed"]:
        return []
    fields = diff["changed"][0]["fields"]

    def titles(items: list[dict], to: bool | None = None, key: str = "to") -> str:
        return ", ".join(f["title"] for f in items if to is None or f[key] is to)
    found = []
    for text, names in ((N_("The form of '%(step)s' gets new required fields: %(fields)s."),
                         titles(fields["added"], True, "required")),
                        (N_("The form of '%(step)s' gets new fields: %(fields)s."),
                         titles(fields["added"], False, "required")),
                        (N_("The form of '%(step)s' loses fields: %(fields)s."), titles(fields["removed"])),
                        (N_("In the form of '%(step)s', now required: %(fields)s."), titles(fields["required"], True)),
                        (N_("In the form of '%(step)s', no longer required: %(fields)s."),
                         titles(fields["required"], False)),
                        (N_("In the form of '%(step)s', these fields change: %(fields)s."), titles(fields["changed"]))):
        if names:
            found.append(Msg(text, step=step, fields=names))
    return found or [Msg("The form of '%(step)s' changes (its title or conditions).", step=step)]
