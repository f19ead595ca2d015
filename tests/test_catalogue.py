"""The catalogue: what ships in processes/, forms/, handlers/ and the settings fits together."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from handlers import REGISTRY
from orderflow.core.config import DEFAULTS
from orderflow.engine import compile_bundle

ROOT = Path(__file__).resolve().parent.parent
BPMN_FILES = sorted((ROOT / "processes").glob("*.bpmn"))
FORM_FILES = sorted((ROOT / "forms").glob("*.json"))


def load_form(key: str):
    path = ROOT / "forms" / f"{key}.json"
    return json.loads(path.read_text()) if path.exists() else None


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_every_process_deploys_with_forms_groups_and_handlers(path: Path):
    dmn = {p.name: p.read_bytes() for p in (ROOT / "processes").glob("*.dmn")}
    for pdef in compile_bundle({path.name: path.read_bytes(), **dmn}, REGISTRY, load_form):
        for element in pdef.elements.values():
            if element.kind == "userTask":
                assert element.group, f"{element.element_id} has no group"
                assert element.form_key and load_form(element.form_key), f"{element.element_id} has no form"
            if element.kind == "serviceTask":
                assert element.handler in REGISTRY, f"{element.element_id}: no handler {element.handler}"


@pytest.mark.parametrize("path", FORM_FILES, ids=lambda p: p.name)
def test_every_form_is_a_bilingual_json_schema(path: Path):
    schema = json.loads(path.read_text())
    Draft202012Validator.check_schema(schema)
    assert schema.get("title") and schema.get("title_zh"), "forms need an English and a Chinese title"
    for name, prop in schema.get("properties", {}).items():
        assert prop.get("title") and prop.get("title_zh"), f"{name} needs title and title_zh"
        if "enum" in prop and "enumNames" in prop:
            assert len(prop["enumNames"]) == len(prop["enum"]) == len(prop.get("enumNames_zh", prop["enum"]))
    if "decision" in schema.get("properties", {}):
        assert schema["properties"]["decision"].get("enum"), "a decision is an enum, positive value first"


def test_every_form_is_used_by_a_process():
    used = set()
    for path in BPMN_FILES:
        used |= set(re.findall(r'name="formJsonSchemaFilename" value="([^"]+)\.json"', path.read_text()))
    assert {p.stem for p in FORM_FILES} <= used


def test_every_handler_documents_itself():
    for name, func in REGISTRY.items():
        assert (func.__doc__ or "").strip(), f"handler {name} needs a docstring (the modeler shows it)"


def test_every_setting_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    missing = [key for key in DEFAULTS if f"`{key}`" not in readme]
    assert not missing, f"README.md does not document: {missing}"
