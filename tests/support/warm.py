"""A test's app as a node that has already served the seeded processes: what a node keeps in memory after
its first requests (the compiled process definitions, the page templates' bytecode) is built once per
session instead of once per test. Nothing a test can see differs: a definition is handed over only for a
version whose key, sources hash and stored forms are exactly those it was compiled from, and Jinja's
bytecode cache checks each template's source before it uses the stored bytecode."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jinja2
from sqlalchemy import select

from orderflow import create_app
from orderflow.core.models import ProcessVersion
from orderflow.engine.specs import ProcessDef, SpecCache
from orderflow.workflow import definitions


@dataclass(frozen=True)
class Version:
    key: str
    sha256: str
    forms: Any
    pdef: ProcessDef


Compiled = tuple[Version, ...]


def compile_versions(url: str) -> Compiled:
    """Every stored version of the database at ``url`` compiled as a node's first load compiles it."""
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "ORDERFLOW_DATABASE_URL": url})
    try:
        with app.extensions["orderflow.db"].session() as session:
            return tuple(Version(row.key, row.sha256, row.forms, definitions.definition(session, row))
                         for row in definitions.list_versions(session))
    finally:
        app.extensions["orderflow.db"].engine.dispose()


class _MemoryBytecode(jinja2.BytecodeCache):
    """Compiled templates kept in memory for the session (Jinja checks the source's checksum on load)."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_BYTECODE = _MemoryBytecode()


def prepare(app, compiled: Compiled) -> None:
    """A fresh spec cache holding the definitions of the versions this app's database stores unchanged."""
    with app.extensions["orderflow.db"].session() as session:
        stored = {(key, sha): forms for key, sha, forms in
                  session.execute(select(ProcessVersion.key, ProcessVersion.sha256, ProcessVersion.forms))}
    cache = SpecCache()
    for version in compiled:
        if (version.key, version.sha256) in stored and stored[(version.key, version.sha256)] == version.forms:
            cache.put(version.pdef)
    app.extensions["orderflow.platform"].cache = cache
    app.jinja_env.bytecode_cache = _BYTECODE
