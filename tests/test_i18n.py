"""English and Chinese: the catalog is complete and compiled, pages and the API answer in Chinese.

Expected Chinese is read from the catalog (never copied here), so a missing or emptied
translation fails these tests, and so does a new message the catalog does not know yet.
"""
from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from orderflow.core.i18n import Msg
from tests.support.helpers import basic

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "orderflow" / "translations"
POT = TRANSLATIONS / "messages.pot"
ZH_PO = TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.po"
ZH_MO = TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.mo"
KEYWORDS = ["Msg", "N_", "_", "gettext", "ngettext:1,2", "pgettext:1c,2", "lazy_gettext"]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdr]")


def _read_po(path: Path):
    with path.open("rb") as f:
        return read_po(f)


def _key(message):
    return (message.context, message.id)


def _msgids(catalog) -> set:
    return {_key(m) for m in catalog if m.id}


@pytest.fixture(scope="module")
def zh():
    """msgid -> Chinese text, from the .po the .mo is built from."""
    catalog = _read_po(ZH_PO)

    def lookup(msgid: str, context: str | None = None) -> str:
        message = catalog.get(msgid, context=context)
        assert message is not None and message.string, f"no Chinese for {msgid!r}"
        return message.string if isinstance(message.string, str) else message.string[0]
    return lookup


def _csrf(page) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.data.decode())
    assert match, "no csrf_token on the page"
    return match.group(1)


def _log_in(client, user: str = "sales1", password: str = "demo") -> None:
    token = _csrf(client.get("/login"))
    response = client.post("/login", data={"username": user, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.data


def _choose_language(client, lang: str) -> None:
    token = _csrf(client.get("/inbox"))  # login clears the session, so take a fresh token
    response = client.post("/language", data={"lang": lang, "csrf_token": token, "next": "/inbox"})
    assert response.status_code == 302, response.data


def _text(response) -> str:
    return html.unescape(response.data.decode())


# -- the catalog ----------------------------------------------------------------

def test_pot_lists_every_message_in_the_source(tmp_path: Path):
    """A string wrapped in _() / Msg() but missing from messages.pot would never be translated."""
    fresh = tmp_path / "messages.pot"
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"),
                                *[arg for k in KEYWORDS for arg in ("-k", k)],
                                "-o", str(fresh), str(ROOT)])
    missing = _msgids(_read_po(fresh)) - _msgids(_read_po(POT))
    assert not missing, ("messages.pot is out of date; run pybabel extract/update (see babel.cfg): "
                         f"{sorted(str(m) for m in missing)}")


def test_zh_po_translates_every_message_without_fuzzy():
    pot, po = _read_po(POT), _read_po(ZH_PO)
    assert not po.fuzzy, "the zh catalog header is '#, fuzzy': pybabel compile would skip it"
    assert _msgids(pot) <= _msgids(po), f"not in zh messages.po: {sorted(map(str, _msgids(pot) - _msgids(po)))}"
    for message in pot:
        if not message.id:
            continue
        translated = po.get(message.id, context=message.context)
        strings = translated.string if isinstance(translated.string, tuple) else (translated.string,)
        assert all(strings), f"empty zh msgstr for {message.id!r}"
        assert not translated.fuzzy, f"zh msgstr marked fuzzy for {message.id!r}"
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        wanted = {p for i in ids for p in PLACEHOLDER.findall(i)}
        for text in strings:
            used = set(PLACEHOLDER.findall(text))
            # Chinese has one plural form: it may leave out a count the English singular spells out.
            ok = used <= wanted if isinstance(message.id, tuple) else used == wanted
            assert ok, f"placeholders differ for {message.id!r}: {sorted(wanted)} vs {text!r}"


def test_compiled_zh_catalog_has_every_message():
    assert ZH_MO.exists(), f"{ZH_MO} is missing: run `make translations`"
    with ZH_MO.open("rb") as f:
        compiled = read_mo(f)
    for message in _read_po(POT):
        if not message.id:
            continue
        found = compiled.get(message.id, context=message.context)
        assert found is not None, f"not compiled: {message.id!r} (stale .mo? run `make translations`)"
        strings = found.string if isinstance(found.string, tuple) else (found.string,)
        assert all(strings), f"empty compiled msgstr for {message.id!r}"


# -- Msg --------------------------------------------------------------------------

def test_msg_is_the_english_text_and_keeps_template_and_params():
    message = Msg("This task belongs to the '%(group)s' group, and you are not in it.", group="sales")
    assert message == "This task belongs to the 'sales' group, and you are not in it."
    assert isinstance(message, str)
    assert message.template.startswith("This task belongs to the '%(group)s'")
    assert message.params == {"group": "sales"}
    assert Msg("100% done") == "100% done"  # no params: no formatting


# -- the app --------------------------------------------------------------------

def test_language_switch_shows_the_inbox_in_chinese(client, zh):
    _log_in(client)
    english = _text(client.get("/inbox"))
    assert '<h1 class="h3 mb-0">Inbox</h1>' in english
    _choose_language(client, "zh")
    page = client.get("/inbox")
    assert page.status_code == 200
    text = _text(page)
    assert '<html lang="zh">' in text
    assert f'<h1 class="h3 mb-0">{zh("Inbox")}</h1>' in text
    assert zh("New order") in text and zh("Log out") in text
    _choose_language(client, "en")
    assert '<h1 class="h3 mb-0">Inbox</h1>' in _text(client.get("/inbox"))


def test_api_field_messages_follow_accept_language(client, zh):
    url = "/api/v1/processes/order_flow/instances"
    response = client.post(url, json={"data": {}}, headers={**basic("sales1"), "Accept-Language": "zh"})
    assert response.status_code == 422, response.json
    error = response.json["error"]
    assert error["code"] == "invalid_input"
    assert zh("This field is required.") in error["fields"].values()
    assert "This field is required." not in error["fields"].values()
    assert error["message"] == zh("Some fields need attention: %(fields)s.") % {
        "fields": ", ".join(sorted(error["fields"]))}

    english = client.post(url, json={"data": {}}, headers=basic("sales1")).json["error"]
    assert "This field is required." in english["fields"].values()
    assert english["message"].startswith("Some fields need attention: ")


def test_api_error_with_translated_params_in_chinese(client, zh):
    """A message whose param is itself a message (a status word) is translated as a whole."""
    response = client.get("/api/v1/tasks?scope=nobody", headers={**basic("sales1"), "Accept-Language": "zh"})
    assert response.status_code == 422
    error = response.json["error"]
    problem = zh("'%(value)s' is not one of %(choices)s.") % {"value": "nobody", "choices": "mine, groups, all"}
    assert error["message"] == zh("The inbox filter '%(field)s' is not valid: %(problem)s") % {
        "field": "scope", "problem": problem}
    assert error["fields"] == {"scope": problem}


def test_form_page_shows_field_errors_in_chinese(client, zh):
    _log_in(client)
    _choose_language(client, "zh")
    token = _csrf(client.get("/processes/order_flow/start"))
    response = client.post("/processes/order_flow/start", data={"csrf_token": token})
    assert response.status_code == 422
    text = _text(response)
    assert zh("This field is required.") in text
    assert "This field is required." not in text


def test_error_page_in_chinese(client, zh):
    _log_in(client)
    _choose_language(client, "zh")
    response = client.get("/tasks/999999")
    assert response.status_code == 404
    text = _text(response)
    assert zh("There is no task with id %(id)s.") % {"id": 999999} in text
    assert zh("Not found") in text
