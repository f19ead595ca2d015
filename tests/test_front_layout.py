"""The front end's plan, read from its folders: templates/<blueprint>/ holds the pages one blueprint
renders, templates/shared/ what several use (layouts, macros, fragments); static/src/*.js are the
page modules esbuild bundles into static/vendor/app/. Names written in code and templates must
point at files that exist, so a move cannot leave a page behind that fails only when it is shown."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "orderflow" / "templates"
SRC = ROOT / "orderflow" / "static" / "src"

TEMPLATE_TAG = re.compile(r"""{%-?\s*(?:extends|include|import|from)\s+['"]([^'"]+)['"]""")
RENDERED = re.compile(r"""render_template\(\s*['"]([^'"]+\.html)['"]""")
BUNDLE = re.compile(r"""filename=['"]vendor/app/([^'"]+)\.js['"]""")


def _templates() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


def test_every_template_sits_in_its_blueprints_folder_or_in_shared(app):
    folders = set(app.blueprints) | {"shared"}
    misplaced = [str(p.relative_to(TEMPLATES)) for p in _templates()
                 if p.relative_to(TEMPLATES).parts[0] not in folders]
    assert not misplaced, f"not under templates/<blueprint>/ or templates/shared/: {misplaced}"


def test_every_template_name_in_code_and_templates_exists():
    named: dict[str, str] = {}
    for path in sorted((ROOT / "orderflow").rglob("*.py")):
        for name in RENDERED.findall(path.read_text(encoding="utf-8")):
            named[name] = str(path.relative_to(ROOT))
    for path in _templates():
        for name in TEMPLATE_TAG.findall(path.read_text(encoding="utf-8")):
            named[name] = str(path.relative_to(ROOT))
    assert len(named) > 30
    missing = {name: where for name, where in named.items() if not (TEMPLATES / name).is_file()}
    assert not missing, missing


def test_every_page_module_a_template_loads_has_its_source_and_none_is_left_unused():
    loaded = {name for path in _templates() for name in BUNDLE.findall(path.read_text(encoding="utf-8"))}
    entries = {p.stem for p in SRC.glob("*.js")}
    assert "app" in loaded and "modeler" in loaded
    assert loaded == entries, f"loaded without a source: {loaded - entries}; never loaded: {entries - loaded}"
    scripts = [tag for path in _templates()
               for tag in re.findall(r"<script\b[^>]*>", path.read_text(encoding="utf-8"))]
    # CSP script-src 'self': code only from files, never inline; JSON data blocks are not run
    assert all("src=" in tag or 'type="application/json"' in tag for tag in scripts), scripts
    assert all('type="module"' in tag for tag in scripts if "vendor/app/" in tag), scripts
