"""Deploy and lint problems, and a condition's check, in the reader's language: the engine makes
each message as a ``Msg`` (the suite refuses plain text: tests/support/message_check.py), and every
JSON answer and page says it in English or Chinese."""
from __future__ import annotations

import pytest

from tests.support import bpmn_samples as samples
from tests.support.helpers import Api

BROKEN = samples.script_process("total = price *", pid="broken_script").replace(
    'id="start"', 'id="start"', 1)


def _check(api: Api, lang: str, body: bytes):
    return api.client.post("/api/v1/processes/check", data=body, headers={
        **api.auth("owner1"), "Content-Type": "application/xml", "Accept-Language": lang})


@pytest.mark.parametrize("lang, words", [("en", "not well-formed XML"), ("zh", "XML")])
def test_an_upload_that_is_not_xml_is_refused_in_the_readers_language(api: Api, lang: str, words: str):
    answer = _check(api, lang, b"<bpmn:definitions").json
    assert answer["ok"] is False and words in answer["problems"][0]["message"]
    if lang == "zh":
        assert any("\u4e00" <= ch <= "\u9fff" for ch in answer["problems"][0]["message"]), answer


def test_lint_problems_and_condition_checks_speak_chinese(api: Api):
    english = _check(api, "en", BROKEN.encode()).json["problems"]
    chinese = _check(api, "zh", BROKEN.encode()).json["problems"]
    assert [p["element_id"] for p in english] == [p["element_id"] for p in chinese] and english
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in p["message"]) for p in chinese), chinese
    assert english[0]["message"] != chinese[0]["message"]
    check = api.client.post("/api/v1/expressions/check", headers={**api.auth("owner1"), "Accept-Language": "zh"},
                            json={"expression": "amount = 5"}).json
    assert check["ok"] is False and "amount == 5" in check["message"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in check["message"]), check
    refused = api.client.post("/api/v1/processes", data=BROKEN.encode(), headers={
        **api.auth("owner1"), "Content-Type": "application/xml", "Accept-Language": "zh"})
    assert refused.status_code == 422
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in p["message"]) for p in refused.json["error"]["problems"])


def test_a_step_that_fails_on_the_data_says_why_in_the_readers_language(api: Api):
    deployed = api.client.post("/api/v1/processes", data=samples.script_process("total = 1 / 0", pid="zero").encode(),
                               headers={**api.auth("owner1"), "Content-Type": "application/xml"})
    assert deployed.status_code == 201, deployed.json
    answers = {lang: api.client.post("/api/v1/processes/zero/instances", json={"data": {}}, headers={
        **api.auth("admin"), "Accept-Language": lang}) for lang in ("en", "zh")}
    assert answers["en"].status_code == answers["zh"].status_code and answers["en"].status_code >= 400
    assert "Script failed (line 1): It divides by zero. Nothing was saved" in answers["en"].json["error"]["message"]
    assert "脚本出错（第 1 行）：计算中除以了零。未保存任何内容" in answers["zh"].json["error"]["message"]
