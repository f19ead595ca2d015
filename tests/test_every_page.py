"""Every HTML page of the url_map, rendered over HTTP as the user who may see it, in English and in
Chinese, on whichever database the suite runs on: the browser tests measure these pages once, this
proves each one's queries and template on SQLite and on PostgreSQL alike. A new route fails here as
"not visited" until ``tests/support/pages.py`` gives it its arguments."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from tests.support.helpers import login
from tests.support.pages import Demo, assert_every_page_is_visited, demo_app, visits


@pytest.fixture(scope="module")
def site(seeded_template, compiled_processes, tmp_path_factory) -> Iterator[tuple[Flask, Demo]]:
    with demo_app(seeded_template, compiled_processes, tmp_path_factory.mktemp("pages"), TESTING=True) as made:
        yield made


def test_every_page_is_visited(site):
    assert_every_page_is_visited(*site)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_page_answers_its_user(site, lang):
    app, demo = site
    client = app.test_client()
    signed_in: str | None = None
    problems = []
    for visit in sorted(visits(demo), key=lambda v: (v.user or "", v.endpoint)):
        if visit.user != signed_in:
            client = app.test_client()   # signed out
            if visit.user:
                login(client, visit.user)
            signed_in = visit.user
        response = client.get(visit.path, follow_redirects=True, headers={"Accept-Language": "zh-CN" if lang == "zh" else "en-GB"})
        where = f"{visit.path} as {visit.user or 'nobody'}"
        if response.status_code != visit.status:
            problems.append(f"{where}: status {response.status_code}, not {visit.status}")
            continue
        if "text/html" not in response.content_type:
            problems.append(f"{where}: {response.content_type}, not a page")
            continue
        page = response.get_data(as_text=True)
        if f'<html lang="{lang}"' not in page:
            problems.append(f"{where}: not in {lang}")
    assert not problems, "\n".join(problems)
