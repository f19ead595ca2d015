"""Translatable messages for domain code, which never imports Flask.

A domain module raises ``Forbidden(Msg("This task belongs to the '%(group)s' group, and you
are not in it.", group=task.group_id))``. ``Msg`` is a ``str`` whose value is the English
sentence, so logs, tests and ``str(error)`` read as before; it also keeps the ``template``
(the catalog's msgid) and the ``params``, so the web edge can look the template up in the
user's language and format it there (``orderflow.web.present.localize``).

Rules for templates (``pybabel extract -k Msg`` collects them):
- the first argument is a literal string with %-style *named* placeholders, never an f-string;
- a literal ``%`` must be written ``%%`` when the message has params;
- a param may itself be a ``Msg`` (e.g. a status word); it is translated too.
  Plain ``str`` params (user names, ids, values people typed) are never translated.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.support import NullTranslations, Translations

CATALOGS = Path(__file__).resolve().parent.parent / "translations"


class Msg(str):
    """English text of ``template % params`` that remembers how it was built."""

    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, **params: Any) -> Msg:
        text = template % params if params else template
        self = super().__new__(cls, text)
        self.template = template
        self.params = params
        return self

    def __repr__(self) -> str:
        return f"Msg({self.template!r}{''.join(f', {k}={v!r}' for k, v in self.params.items())})"

    def __reduce__(self):  # pickling/copying keeps template and params
        return (_rebuild, (self.template, self.params))


def _rebuild(template: str, params: dict[str, Any]) -> Msg:
    return Msg(template, **params)


class Texts(str):
    """Text written by a process owner in several languages (a form's rule message): the English
    as the ``str`` value, the others by language code. The edge picks the reader's."""

    translations: dict[str, str]

    def __new__(cls, english: str, **translations: str) -> Texts:
        self = super().__new__(cls, english)
        self.translations = {k: v for k, v in translations.items() if v}
        return self

    def in_language(self, language: str) -> str:
        return self.translations.get(language) or str(self)

    def __reduce__(self):
        return (_texts, (str(self), self.translations))


def _texts(english: str, translations: dict[str, str]) -> Texts:
    return Texts(english, **translations)


def element_name(name: str | None) -> Texts:
    """A diagram element's name as process owners write it, 'English 中文', as ``Texts``: each
    reader sees their language's part (a name in one language only is that name for everyone)."""
    text = name or ""
    for i, ch in enumerate(text):
        if "\u4e00" <= ch <= "\u9fff":
            english, chinese = text[:i].strip().rstrip("/").strip(), text[i:].strip()
            return Texts(english or chinese, zh=chinese)
    return Texts(text)


def N_(text: str) -> str:
    """Mark a string for extraction without translating it here (translate at the edge)."""
    return text


def either(first: Any, second: Any) -> Msg:
    """'a or b' in the reader's language; nests for three or more choices."""
    # TRANSLATORS: two choices in a field message, e.g. "Enter a number or text."
    return Msg("%(first)s or %(second)s", first=first, second=second)


# Instance and task statuses as words inside a sentence ("The order is suspended; ...").
# The English word is the stored status itself, so messages read exactly as before.
STATUS_WORDS: dict[str, Msg] = {
    "running": Msg("running"),
    "completed": Msg("completed"),
    "suspended": Msg("suspended"),
    "terminated": Msg("terminated"),
    "error": Msg("error"),
    "ready": Msg("ready"),
    "cancelled": Msg("cancelled"),
}


def status_word(status: str | None) -> Any:
    """The status as a translatable word; unknown statuses stay as they are."""
    return STATUS_WORDS.get(status or "", status)


# -- stored messages: what a notification keeps so each reader sees it in their language ---------

def to_data(message: Any) -> Any:
    """A ``Msg`` as JSON (``{"msg": template, "params": {...}}``, params that are ``Msg`` nested
    alike); any other value as its text."""
    if isinstance(message, Msg):
        return {"msg": message.template, "params": {k: to_data(v) for k, v in message.params.items()}}
    if isinstance(message, Texts):
        return {"text": str(message), "in": dict(message.translations)}
    return message if message is None or isinstance(message, (int, float)) else str(message)


def from_data(data: Any) -> Any:
    """``to_data`` undone; anything unexpected (a stored row from before, hand-edited JSON) comes
    back as plain text, never raises."""
    if isinstance(data, dict) and isinstance(data.get("msg"), str):
        params = data["params"] if isinstance(data.get("params"), dict) else {}
        try:
            return Msg(data["msg"], **{str(k): from_data(v) for k, v in params.items()})
        except (KeyError, TypeError, ValueError):   # placeholders and params disagree
            return data["msg"]
    if isinstance(data, dict) and isinstance(data.get("text"), str):
        others = data["in"] if isinstance(data.get("in"), dict) else {}
        return Texts(data["text"], **{str(k): str(v) for k, v in others.items()})
    return data


@lru_cache(maxsize=8)
def _catalog(language: str) -> NullTranslations:
    return Translations.load(str(CATALOGS), [language]) if language and language != "en" else NullTranslations()


def translate(message: Any, language: str) -> str:
    """A message in ``language`` without a request (a mail queued by the scheduler): a ``Msg`` is
    looked up in the compiled catalog and formatted; a broken translation falls back to English."""
    if not isinstance(message, Msg):
        return "" if message is None else str(message)
    params = {k: translate(v, language) if isinstance(v, Msg) else v.in_language(language) if isinstance(v, Texts)
              else v for k, v in message.params.items()}
    try:
        text = _catalog(language).gettext(message.template)
        return text % params if params else text
    except (KeyError, TypeError, ValueError):
        return message.template % params if params else message.template
