"""The README's "A day in each role" stays true (as datasette's tests keep its docs honest).

For every role the section names, as that demo user: each **bold** word is visible text on a page the
user reaches from the top bar in at most two clicks (with an order under way, so inboxes have work),
and each *italic* step is a user task in a lane of one of the user's groups, or of the group named
right before it ("engineering (*Make BOM*)")."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from orderflow import create_app
from orderflow.access import accounts
from tests.support import dbs
from tests.support.helpers import Api, FakeClock, login, run_jobs
from tests.support.orders import drive

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## A day in each role"
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"

ROLE = re.compile(r"^- \*\*(?P<role>[^*]+)\*\* \(`(?P<user>[a-z_0-9]+)`\): (?P<text>.*)$")
BOLD = re.compile(r"\*\*([^*]+)\*\*")
ITALIC = re.compile(r"(?<![*\w])\*([^*]+)\*(?![*\w])")
GROUP_STEPS = re.compile(r"\b([a-z_]+) \(((?:\*[^*]+\*(?:,? (?:and )?)?)+)\)")
#: links not followed: they change something, download a file or leave the pages
PER_SHAPE = 3                      # the scene's three orders
SKIP = re.compile(r"^/(api|static|logout|lang)|\.(csv|bpmn|json|pdf)$|/download|/files/")


def _section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert SECTION in text, f"README.md lost its section {SECTION!r}"
    body = text.split(SECTION, 1)[1]
    return body.split("\n## ", 1)[0]


def _roles() -> list[tuple[str, str, str]]:
    """(role, user, text) per bullet; a bullet's continuation lines are joined."""
    bullets: list[str] = []
    for line in _section().splitlines():
        if line.startswith("- "):
            bullets.append(line)
        elif line.startswith("  ") and bullets:
            bullets[-1] += " " + line.strip()
    roles = []
    for bullet in bullets:
        match = ROLE.match(bullet)
        assert match, f"a bullet does not start with **Role** (`user`): {bullet[:80]!r}"
        roles.append((match["role"], match["user"], match["text"]))
    return roles


def _lane_steps() -> dict[str, set[str]]:
    """group -> English names of the user tasks in its lanes, over every diagram in processes/."""
    steps: dict[str, set[str]] = {}
    for path in sorted((ROOT / "processes").glob("*.bpmn")):
        tree = ET.parse(path)
        names = {e.get("id"): e.get("name") or "" for e in tree.iter(f"{BPMN}userTask")}
        for lane in tree.iter(f"{BPMN}lane"):
            for ref in lane.findall(f"{BPMN}flowNodeRef"):
                if ref.text in names:
                    english = re.split(r"\s+(?=[\u4e00-\u9fff])", names[ref.text], maxsplit=1)[0]
                    steps.setdefault(lane.get("id"), set()).add(english)
    return steps


class _Page(HTMLParser):
    """A page's visible text and its links (script, style and hidden elements left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.links: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag in {"script", "style", "template"}:
            self._skip += 1
        if tag == "a" and values.get("href"):
            self.links.append(values["href"])
        if tag in {"input", "button"} and values.get("value"):
            self.text.append(values["value"])

    def handle_endtag(self, tag):
        if tag in {"script", "style", "template"} and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def _crawl(client, hops: int = 2) -> str:
    """Visible text of every page reachable from the top bar in ``hops`` clicks; at most
    ``PER_SHAPE`` pages per route shape (/orders/7 and /orders/8 look alike), so the walk stays small."""
    seen_shapes: dict[str, int] = {}
    seen: set[str] = set()
    texts: list[str] = []
    frontier = ["/inbox"]
    for _ in range(hops + 1):
        following: list[str] = []
        for url in frontier:
            parts = urlsplit(url)
            if parts.netloc or not parts.path.startswith("/") or SKIP.search(parts.path):
                continue
            shape = re.sub(r"/\d+", "/N", parts.path)
            if parts.path in seen or seen_shapes.get(shape, 0) >= PER_SHAPE:
                continue
            seen.add(parts.path)
            seen_shapes[shape] = seen_shapes.get(shape, 0) + 1
            response = client.get(parts.path, follow_redirects=True)
            if response.status_code != 200 or not response.content_type.startswith("text/html"):
                continue
            page = _Page()
            page.feed(response.get_data(as_text=True))
            texts.append(" ".join(" ".join(page.text).split()))
            following.extend(page.links)
        frontier = following
    return "\n".join(texts)


@pytest.fixture(scope="module")
def day(seeded_template: str, tmp_path_factory):
    """One working day's scene, set once and only read: an order just entered, one waiting for the
    vp's signature, one finished, and three days later the first one late and the overdue work notified."""
    url = dbs.copy_of(seeded_template, tmp_path_factory.mktemp("walkthrough"), "walkthrough")
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "ORDERFLOW_DATABASE_URL": url})
    clock = FakeClock()
    app.extensions["orderflow.platform"].clock = clock
    api = Api(app.test_client())
    api.start_order("sales1", promised_date=(clock.value + timedelta(days=1)).date().isoformat())
    api.drive_to(api.start_order("sales1")["id"], "sign_release")
    drive(api, api.start_order("sales1")["id"])     # the newest: lists show it first
    clock.advance(days=3)                            # the first order is late now
    run_jobs(app)
    yield app
    app.extensions["orderflow.db"].engine.dispose()
    dbs.drop(url)


def test_the_section_names_every_role_once():
    users = [user for _, user, _ in _roles()]
    assert len(users) == len(set(users)), users
    assert len(users) >= 8, "the walk-through lost roles"


def test_every_italic_step_is_in_that_roles_lanes(day):
    steps = _lane_steps()
    database = day.extensions["orderflow.db"]
    with database.session() as session:
        groups_of = {user: set(accounts.by_username(session, user).group_ids) for _, user, _ in _roles()}
    wrong = []
    for role, user, text in _roles():
        named: dict[str, str] = {}
        for group, inside in GROUP_STEPS.findall(text):
            for step in ITALIC.findall(inside) if group in steps else []:
                named[step] = group
        for step in ITALIC.findall(text):
            allowed = {named[step]} if step in named else groups_of[user]
            if not any(step in steps.get(group, set()) for group in allowed):
                wrong.append(f"{role}: *{step}* is not a step in the lanes of {sorted(allowed)}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("role,user,text", _roles(), ids=[user for _, user, _ in _roles()])
def test_every_bold_word_is_on_the_users_pages(day, role, user, text):
    client = day.test_client()
    login(client, user)
    seen = _crawl(client)
    missing = [word for word in BOLD.findall(text)
               if word != role and not re.search(rf"(?<!\w){re.escape(word)}(?!\w)", seen)]
    assert not missing, f"{user} reaches no page showing {missing}"
