#!/usr/bin/env python3
"""Write a synthetic multi-tenant monorepo for benchmarking tenant-lint.

    python3 bench/gen_corpus.py OUT_DIR --lines N [--seed S] [--git] [--change K]

The tree looks like the code bases tenant-lint is meant for: Python services
(FastAPI routers, SQLAlchemy 2.0 models with tenant columns, pydantic
Settings, alembic migrations that enable and force row level security, Redis
and Qdrant helpers, webhook handlers, PyJWT middleware), Rust services (axum
handlers, sqlx queries in tenant transactions, jsonwebtoken, the redis crate),
plain SQL migrations with RLS policies, a Dockerfile and entrypoint per
service, and - as in any real repository - mostly ordinary code: utilities,
data classes, business logic and tests.

A small, fixed set of genuine problems is planted (a `==` on a webhook
signature, a `jwt.decode` with signature verification off, a Rust
`insecure_disable_signature_validation()`, a Redis key without the tenant, an
unfiltered Qdrant search, a table with RLS enabled but not forced). Their
locations are printed at the end.

Output is deterministic for a given (--lines, --seed). Total line count
(all files) lands within about 1% of N for N >= 20000.

--git        `git init` the tree and commit it on branch `main`.
--change K   (implies --git) then create branch `feature` with one commit that
             edits K existing files the way a feature branch would (new
             handlers, changed queries, new functions and tests, including two
             new findings) and leave `feature` checked out.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"@@(\w+)@@")


def sub(template: str, **values: object) -> str:
    """Fill `@@name@@` placeholders; an unknown name is a bug, so fail loudly."""

    def repl(match: re.Match[str]) -> str:
        return str(values[match.group(1)])

    return _PLACEHOLDER.sub(repl, template)


def block(template: str, **values: object) -> str:
    """Dedent a triple-quoted template, fill it, end with one newline.

    Only the newline right after the opening quotes is dropped, so a template
    may start with blank lines to separate itself from what precedes it.
    """
    text = textwrap.dedent(template)
    if text.startswith("\n"):
        text = text[1:]
    return sub(text.rstrip(), **values) + "\n"


def indent(text: str, spaces: int) -> str:
    pad = " " * spaces
    return "\n".join(pad + line if line.strip() else "" for line in text.splitlines())


def camel(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


def plural(word: str) -> str:
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    return word + "s"


def words(snake: str) -> str:
    return snake.replace("_", " ")


def count_lines(text: str) -> int:
    return text.count("\n")


# --------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------

NOUNS = [
    "document", "collection", "conversation", "message", "invoice", "member",
    "connector", "chunk", "source", "notebook", "prompt", "agent", "tool_call",
    "memory", "feedback", "label", "tag", "comment", "attachment", "export",
    "report", "dashboard", "alert", "schedule", "pipeline", "dataset",
    "annotation", "subscription", "api_client", "snippet", "template", "folder",
    "citation", "summary", "transcript", "meeting", "task", "project", "ticket",
    "playbook", "glossary_term", "persona", "channel", "thread", "reminder",
    "note", "bookmark", "survey", "quota", "usage_record", "seat",
    "integration", "sync_job", "crawl", "page", "site", "rule", "workflow",
    "evaluation", "experiment", "variant", "checklist", "milestone", "survey_answer",
]
QUALIFIERS = [
    "", "", "", "shared", "draft", "archived", "pinned", "scheduled", "imported",
    "external", "team", "review", "sync", "custom", "saved", "linked",
]

TOPICS = [
    "pagination", "formatting", "dates", "text", "scoring", "batching", "retry",
    "validation", "exporting", "metrics", "ranking", "dedupe", "windowing",
    "summaries", "quotas", "usage", "notifications", "locale", "timezones",
    "currency", "diffing", "merging", "serialization", "sampling", "histograms",
    "thresholds", "reconcile", "cohorts", "funnels", "rollups", "alerts",
    "calendars", "buckets", "grouping", "normalize", "cleanup", "heuristics",
    "snapshots", "planning", "forecast", "weights", "priorities", "tagging",
]

DOC_PHRASES = [
    "Kept small on purpose: callers compose these helpers.",
    "Pure functions only; no I/O happens here.",
    "Shared by the API layer and the background jobs.",
    "The rules here mirror what the product team documented.",
    "Inputs come from validated request models.",
    "Helpers used when building responses and reports.",
    "Edge cases are covered in the tests next to this module.",
    "Nothing here touches the database.",
]


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # str text int bigint bool float json datetime uuid
    nullable: bool = False
    length: int = 0


FIELD_POOL = [
    Field("description", "text", True), Field("body", "text"), Field("status", "str", False, 32),
    Field("priority", "int"), Field("position", "int"), Field("is_archived", "bool"),
    Field("is_pinned", "bool"), Field("score", "float", True), Field("attributes", "json"),
    Field("external_ref", "str", True, 128), Field("due_at", "datetime", True),
    Field("archived_at", "datetime", True), Field("size_bytes", "bigint"),
    Field("language", "str", False, 8), Field("color", "str", True, 16),
    Field("source_url", "text", True), Field("version", "int"), Field("checksum", "str", True, 64),
    Field("word_count", "int"), Field("owner_id", "uuid", True), Field("parent_id", "uuid", True),
    Field("kind", "str", False, 32), Field("summary", "text", True), Field("locale", "str", False, 16),
    Field("retry_count", "int"), Field("last_seen_at", "datetime", True),
]
DISPLAY_FIELDS = [Field("title", "str", False, 200), Field("name", "str", False, 120),
                  Field("label", "str", False, 64)]

SA_TYPE = {"str": "String({n})", "text": "Text", "int": "Integer", "bigint": "BigInteger",
           "bool": "Boolean", "float": "Float", "json": "JSONB", "datetime": "DateTime(timezone=True)",
           "uuid": "UUID(as_uuid=True)"}
SA_IMPORT = {"str": "String", "text": "Text", "int": "Integer", "bigint": "BigInteger", "bool": "Boolean",
             "float": "Float", "datetime": "DateTime"}
PY_TYPE = {"str": "str", "text": "str", "int": "int", "bigint": "int", "bool": "bool", "float": "float",
           "json": "dict[str, Any]", "datetime": "datetime", "uuid": "uuid.UUID"}
SQL_TYPE = {"str": "varchar({n})", "text": "text", "int": "integer", "bigint": "bigint", "bool": "boolean",
            "float": "double precision", "json": "jsonb", "datetime": "timestamptz", "uuid": "uuid"}
ALEMBIC_TYPE = {"str": "sa.String(length={n})", "text": "sa.Text()", "int": "sa.Integer()",
                "bigint": "sa.BigInteger()", "bool": "sa.Boolean()", "float": "sa.Float()",
                "json": "postgresql.JSONB()", "datetime": "sa.DateTime(timezone=True)",
                "uuid": "postgresql.UUID(as_uuid=True)"}
RS_TYPE = {"str": "String", "text": "String", "int": "i32", "bigint": "i64", "bool": "bool", "float": "f64",
           "json": "serde_json::Value", "datetime": "DateTime<Utc>", "uuid": "Uuid"}
SQL_DEFAULT = {"int": "0", "bigint": "0", "bool": "false", "json": "'{}'::jsonb"}


def fmt_type(table: dict[str, str], f: Field) -> str:
    return table[f.kind].format(n=f.length)


@dataclass
class Entity:
    name: str  # snake, singular
    fields: list[Field]
    tenant_col: str = "org_id"
    setting: str = "app.current_org_id"
    split_policies: bool = False

    @property
    def cls(self) -> str:
        return camel(self.name)

    @property
    def table(self) -> str:
        return plural(self.name)

    @property
    def url(self) -> str:
        return plural(self.name).replace("_", "-")

    @property
    def human(self) -> str:
        return words(self.name)

    @property
    def display(self) -> Field:
        return self.fields[0]

    def has(self, name: str) -> bool:
        return any(f.name == name for f in self.fields)


# --------------------------------------------------------------------------
# The tree being written
# --------------------------------------------------------------------------


@dataclass
class Corpus:
    files: dict[str, str] = field(default_factory=dict)
    meta: dict[str, dict[str, object]] = field(default_factory=dict)
    planted: list[tuple[str, str, str]] = field(default_factory=list)  # (path, needle, what)
    total: int = 0

    def add(self, path: str, text: str, **meta: object) -> int:
        if text and not text.endswith("\n"):
            text += "\n"
        if path in self.files:
            raise ValueError(f"duplicate path {path}")
        self.files[path] = text
        if meta:
            self.meta[path] = meta
        n = count_lines(text)
        self.total += n
        return n

    def plant(self, path: str, needle: str, what: str) -> None:
        self.planted.append((path, needle, what))


# --------------------------------------------------------------------------
# Ordinary Python: a library of small, varied functions
# --------------------------------------------------------------------------


@dataclass
class Snip:
    name: str
    code: str
    imports: tuple[str, ...] = ()
    prelude: tuple[str, ...] = ()
    test: str = ""  # body of a pytest function (without def line), may be empty
    test_imports: tuple[str, ...] = ()
    also_exports: tuple[str, ...] = ()  # further names the test uses


class Names:
    """Hands out identifiers that are unique within one module."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def take(self, base: str) -> str:
        name, i = base, 2
        sep = "" if base[:1].isupper() and not base.isupper() else "_"
        while name in self.used:
            name = f"{base}{sep}{i}"
            i += 1
        self.used.add(name)
        return name


def snip_normalize(rng: random.Random, nm: Names, noun: str, fld: str) -> Snip:
    n = rng.choice([80, 120, 160, 200, 255])
    name = nm.take(f"normalize_{noun}_{fld}")
    code = block('''
        def @@name@@(value: str | None, *, max_length: int = @@n@@) -> str:
            """Collapse whitespace and trim a @@human@@ @@fld@@ to `max_length` characters."""
            if not value:
                return ""
            cleaned = re.sub(r"\\s+", " ", value).strip()
            if len(cleaned) > max_length:
                cleaned = cleaned[: max_length - 1].rstrip() + "\u2026"
            return cleaned
        ''', name=name, n=n, human=words(noun), fld=words(fld))
    test = block('''
        assert @@name@@("  Quarterly   plan \\n") == "Quarterly plan"
        assert @@name@@(None) == ""
        assert len(@@name@@("x" * 1000)) == @@n@@
        ''', name=name, n=n)
    return Snip(name, code, ("import re",), test=test)


def snip_batched(rng: random.Random, nm: Names, noun: str, fld: str) -> Snip:
    size = rng.choice([25, 50, 100, 250, 500])
    name = nm.take(rng.choice(["batched", "in_batches", "chunked"]) + f"_{plural(noun)}")
    code = block('''
        def @@name@@(items: Iterable[T], size: int = @@size@@) -> Iterator[list[T]]:
            """Yield lists of at most `size` items, preserving order."""
            if size <= 0:
                raise ValueError("size must be positive")
            batch: list[T] = []
            for item in items:
                batch.append(item)
                if len(batch) >= size:
                    yield batch
                    batch = []
            if batch:
                yield batch
        ''', name=name, size=size)
    test = block('''
        assert list(@@name@@(range(5), 2)) == [[0, 1], [2, 3], [4]]
        assert list(@@name@@([], 3)) == []
        ''', name=name)
    return Snip(name, code, ("from collections.abc import Iterable, Iterator", "from typing import TypeVar"),
                ('T = TypeVar("T")',), test)


def snip_score(rng: random.Random, nm: Names, noun: str, fld: str) -> Snip:
    keys = rng.sample(["recency", "engagement", "quality", "coverage", "freshness", "depth",
                       "relevance", "popularity", "completeness", "accuracy"], 3)
    weights = [round(w, 2) for w in (0.5, 0.3, 0.2)]
    rng.shuffle(weights)
    const = nm.take(f"{noun.upper()}_SCORE_WEIGHTS")
    name = nm.take(f"compute_{noun}_score")
    pairs = ", ".join(f'"{k}": {w}' for k, w in zip(keys, weights))
    code = block('''
        def @@name@@(signals: Mapping[str, float | None]) -> float:
            """Weighted average of the known signals; missing signals do not count."""
            total = 0.0
            weight_sum = 0.0
            for signal, weight in @@const@@.items():
                value = signals.get(signal)
                if value is None:
                    continue
                total += max(0.0, min(1.0, float(value))) * weight
                weight_sum += weight
            return round(total / weight_sum, 4) if weight_sum else 0.0
        ''', name=name, const=const)
    test = block('''
        assert @@name@@({}) == 0.0
        assert @@name@@({"@@k@@": 1.0}) == 1.0
        assert 0.0 <= @@name@@({"@@k@@": 0.4, "@@k2@@": 2.0}) <= 1.0
        ''', name=name, k=keys[0], k2=keys[1])
    return Snip(name, code, ("from collections.abc import Mapping",),
                (f"{const}: dict[str, float] = {{{pairs}}}",), test)


def snip_group(rng: random.Random, nm: Names, noun: str, fld: str) -> Snip:
    name = nm.take(f"group_{plural(noun)}_by_{fld}")
    code = block('''
        def @@name@@(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
            """Bucket rows by their `@@fld@@`, with a stable `unknown` bucket."""
            grouped: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
            for row in rows:
                grouped[str(row.get("@@fld@@") or "unknown")].append(row)
            return dict(sorted(grouped.items()))
        ''', name=name, fld=fld)
    test = block('''
        rows = [{"@@fld@@": "a"}, {"@@fld@@": "b"}, {"@@fld@@": "a"}, {}]
        grouped = @@name@@(rows)
        assert list(grouped) == ["a", "b", "unknown"]
        assert len(grouped["a"]) == 2
        ''', name=name, fld=fld)
    return Snip(name, code, ("from collections import defaultdict", "from collections.abc import Iterable, Mapping",
                             "from typing import Any"), test=test)


def snip_window(rng: random.Random, nm: Names, noun: str, fld: str) -> Snip:
    days = rng.choice([31, 90, 92, 180, 366])
    name = nm.take(f"parse_{noun}_window")
    code = block('''
        def @@name@@(start: str, end: str, *, max_days: int = @@days@@) -> tuple[datetime, datetime]:
            """Parse an ISO-8601 range; naive values are taken as UTC."""
            begin = datetime.fromisoformat(start)
            finish = datetime.fromisoformat(end)
            if begin.tzinfo is None:
                begin = begin.replace(tzinfo=timezone.utc)
            if finish.tzinfo is None:
                finish = finish.replace(tzinfo=timezone.utc)
            if finish <= begin:
                raise ValueError("end must be after start")
            if finish - begin > timedelta(days=max_days):
                raise ValueError(f"range longer than {max_days} days")
            return begin, finish
        ''', name=name, days=days)
    test = block('''
        begin, finish = @@name@@("2024-01-01", "2024-01-15")
        assert (finish - begin).days == 14
        with pytest.raises(ValueError):
            @@name@@("2024-02-01", "2024-01-01")
        ''', name=name)
    return Snip(name, code, ("from datetime import datetime, timedelta, timezone",), test=test,
                test_imports=("import pytest",))


def snip_dataclass(rng: random.Random, nm: Names, noun: str, fld: str) -> Snip:
    cls = nm.take(camel(noun) + rng.choice(["Summary", "Snapshot", "Digestible", "View", "Stats", "Row"]))
    cls = cls.replace("Digestible", "Overview")
    numeric = rng.sample(["total", "active", "archived", "failed", "pending", "views", "edits", "shares"], 3)
    lines = [f"    {fld}: str"] + [f"    {n}: int = 0" for n in numeric]
    conv = [f'            {fld}=str(data.get("{fld}", "")),'] + [
        f'            {n}=int(data.get("{n}") or 0),' for n in numeric]
    code = block('''
        @dataclass(frozen=True, slots=True)
        class @@cls@@:
        @@lines@@

            @property
            def @@ratio@@(self) -> float:
                return self.@@a@@ / self.@@b@@ if self.@@b@@ else 0.0

            def to_dict(self) -> dict[str, Any]:
                return asdict(self)

            @classmethod
            def from_mapping(cls, data: Mapping[str, Any]) -> @@cls@@:
                return cls(
        @@conv@@
                )
        ''', cls=cls, lines="\n".join(lines), conv="\n".join(conv),
                 ratio=f"{numeric[0]}_per_{numeric[1]}".replace("total_per", "share_of"),
                 a=numeric[0], b=numeric[1])
    test = block('''
        row = @@cls@@.from_mapping({"@@fld@@": "x", "@@a@@": "3", "@@b@@": 0})
        assert row.@@a@@ == 3
        assert row.to_dict()["@@fld@@"] == "x"
        ''', cls=cls, fld=fld, a=numeric[0], b=numeric[1])
    return Snip(cls, code, ("from dataclasses import asdict, dataclass", "from collections.abc import Mapping",
                            "from typing import Any"), test=test)


def snip_enum(rng: random.Random, nm: Names, noun: str, fld: str) -> Snip:
    states = rng.choice([
        ["draft", "review", "published", "archived"],
        ["queued", "running", "succeeded", "failed", "cancelled"],
        ["pending", "active", "suspended", "closed"],
        ["new", "triaged", "in_progress", "done"],
    ])
    cls = nm.take(camel(noun) + "State")
    fn = nm.take(f"can_move_{noun}")
    const = nm.take(f"_{noun.upper()}_TRANSITIONS")
    members = "\n".join(f'    {s.upper()} = "{s}"' for s in states)
    trans = "\n".join(
        f"    {cls}.{a.upper()}: frozenset({{{cls}.{b.upper()}}}),"
        for a, b in zip(states, states[1:]))
    code = block('''
        class @@cls@@(str, Enum):
        @@members@@

            @property
            def is_terminal(self) -> bool:
                return self is @@cls@@.@@last@@


        @@const@@: dict[@@cls@@, frozenset[@@cls@@]] = {
        @@trans@@
        }


        def @@fn@@(current: @@cls@@, target: @@cls@@) -> bool:
            """Whether a @@human@@ may move from `current` to `target`."""
            return target in @@const@@.get(current, frozenset())
        ''', cls=cls, members=members, last=states[-1].upper(), const=const, trans=trans, fn=fn,
                 human=words(noun))
    test = block('''
        assert @@fn@@(@@cls@@.@@a@@, @@cls@@.@@b@@)
        assert not @@fn@@(@@cls@@.@@b@@, @@cls@@.@@a@@)
        assert @@cls@@.@@last@@.is_terminal
        ''', fn=fn, cls=cls, a=states[0].upper(), b=states[1].upper(), last=states[-1].upper())
    return Snip(cls, code, ("from enum import Enum",), test=test, also_exports=(fn,))


def snip_retry(rng: random.Random, nm: Names, noun: str, fld: str) -> Snip:
    name = nm.take(rng.choice(["with_retries", "retry_async", "call_with_backoff"]))
    attempts = rng.choice([3, 4, 5])
    delay = rng.choice([0.1, 0.2, 0.25, 0.5])
    code = block('''
        async def @@name@@(
            operation: Callable[[], Awaitable[T]],
            *,
            attempts: int = @@attempts@@,
            base_delay: float = @@delay@@,
        ) -> T:
            """Run `operation`, retrying transient network errors with jittered backoff."""
            last_error: Exception | None = None
            for attempt in range(attempts):
                try:
                    return await operation()
                except (ConnectionError, TimeoutError) as exc:
                    last_error = exc
                    await asyncio.sleep(base_delay * (2**attempt) + random.uniform(0, base_delay))
            assert last_error is not None
            raise last_error
        ''', name=name, attempts=attempts, delay=delay)
    return Snip(name, code, ("import asyncio", "import random", "from collections.abc import Awaitable, Callable",
                             "from typing import TypeVar"), ('T = TypeVar("T")',))


def snip_slug(rng: random.Random, nm: Names, noun: str, fld: str) -> Snip:
    name = nm.take(f"slugify_{noun}")
    code = block('''
        def @@name@@(value: str, *, max_length: int = @@n@@) -> str:
            normalized = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
            slug = re.sub(r"[^a-zA-Z0-9]+", "-", normalized).strip("-").lower()
            return slug[:max_length].rstrip("-") or "@@fallback@@"
        ''', name=name, n=rng.choice([48, 64, 80]), fallback=noun.replace("_", "-"))
    test = block('''
        assert @@name@@("Caf\u00e9 Plans 2024!") == "cafe-plans-2024"
        assert @@name@@("!!!") == "@@fallback@@"
        ''', name=name, fallback=noun.replace("_", "-"))
    return Snip(name, code, ("import re", "import unicodedata"), test=test)


def snip_page(rng: random.Random, nm: Names, noun: str, fld: str) -> Snip:
    name = nm.take(f"build_{noun}_page")
    code = block('''
        def @@name@@(items: Sequence[T], *, total: int, limit: int, offset: int) -> dict[str, Any]:
            """Response envelope used by every list endpoint."""
            next_offset = offset + limit if offset + limit < total else None
            previous_offset = max(0, offset - limit) if offset > 0 else None
            return {
                "items": list(items),
                "total": total,
                "limit": limit,
                "offset": offset,
                "next_offset": next_offset,
                "previous_offset": previous_offset,
            }
        ''', name=name)
    test = block('''
        page = @@name@@([1, 2], total=5, limit=2, offset=2)
        assert page["next_offset"] == 4
        assert page["previous_offset"] == 0
        ''', name=name)
    return Snip(name, code, ("from collections.abc import Sequence", "from typing import Any, TypeVar"),
                ('T = TypeVar("T")',), test)


def snip_merge(rng: random.Random, nm: Names, noun: str, fld: str) -> Snip:
    name = nm.take(rng.choice(["deep_merge", "merge_settings", "overlay"]) + f"_{noun}_options")
    code = block('''
        def @@name@@(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
            """Recursively merge `override` into a copy of `base`."""
            merged: dict[str, Any] = dict(base)
            for key, value in override.items():
                current = merged.get(key)
                if isinstance(current, Mapping) and isinstance(value, Mapping):
                    merged[key] = @@name@@(current, value)
                else:
                    merged[key] = value
            return merged
        ''', name=name)
    test = block('''
        merged = @@name@@({"a": {"b": 1, "c": 2}}, {"a": {"c": 3}, "d": 4})
        assert merged == {"a": {"b": 1, "c": 3}, "d": 4}
        ''', name=name)
    return Snip(name, code, ("from collections.abc import Mapping", "from typing import Any"), test=test)


def snip_bytes(rng: random.Random, nm: Names, noun: str, fld: str) -> Snip:
    name = nm.take(rng.choice(["human_size", "format_bytes", "pretty_size"]))
    code = block('''
        def @@name@@(size: int | float) -> str:
            value = float(size)
            for unit in ("B", "KB", "MB", "GB", "TB"):
                if abs(value) < 1024 or unit == "TB":
                    return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
                value /= 1024
            return f"{value:.1f} TB"
        ''', name=name)
    test = block('''
        assert @@name@@(512) == "512 B"
        assert @@name@@(2048) == "2.0 KB"
        ''', name=name)
    return Snip(name, code, (), test=test)


def snip_percentile(rng: random.Random, nm: Names, noun: str, fld: str) -> Snip:
    name = nm.take(f"{fld}_percentile")
    code = block('''
        def @@name@@(values: Sequence[float], pct: float) -> float | None:
            """Linear-interpolated percentile; None for an empty sample."""
            if not values:
                return None
            if not 0 <= pct <= 100:
                raise ValueError("pct must be within [0, 100]")
            ordered = sorted(values)
            rank = (len(ordered) - 1) * pct / 100
            low = math.floor(rank)
            high = math.ceil(rank)
            if low == high:
                return ordered[int(rank)]
            return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
        ''', name=name)
    test = block('''
        assert @@name@@([], 50) is None
        assert @@name@@([1, 2, 3, 4], 50) == 2.5
        ''', name=name)
    return Snip(name, code, ("import math", "from collections.abc import Sequence"), test=test)


def snip_diff(rng: random.Random, nm: Names, noun: str, fld: str) -> Snip:
    name = nm.take(f"diff_{noun}_fields")
    code = block('''
        def @@name@@(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
            """Field-level changes, used for the activity feed."""
            changes: dict[str, tuple[Any, Any]] = {}
            for key in sorted(set(before) | set(after)):
                old, new = before.get(key), after.get(key)
                if old != new:
                    changes[key] = (old, new)
            return changes
        ''', name=name)
    test = block('''
        assert @@name@@({"a": 1, "b": 2}, {"a": 1, "b": 3}) == {"b": (2, 3)}
        ''', name=name)
    return Snip(name, code, ("from collections.abc import Mapping", "from typing import Any"), test=test)


def snip_email(rng: random.Random, nm: Names, noun: str, fld: str) -> Snip:
    name = nm.take(rng.choice(["email_domain", "normalize_email", "split_address"]))
    code = block('''
        def @@name@@(address: str) -> str:
            """Lower-cased domain of an e-mail address; ValueError when malformed."""
            local, sep, domain = address.strip().rpartition("@")
            if not sep or not local or "." not in domain:
                raise ValueError(f"not an e-mail address: {address!r}")
            return domain.lower().rstrip(".")
        ''', name=name)
    test = block('''
        assert @@name@@("Ann@Example.COM") == "example.com"
        with pytest.raises(ValueError):
            @@name@@("nobody")
        ''', name=name)
    return Snip(name, code, (), test=test, test_imports=("import pytest",))


def snip_csv(rng: random.Random, nm: Names, noun: str, fld: str) -> Snip:
    name = nm.take(f"{plural(noun)}_to_csv")
    code = block('''
        def @@name@@(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> str:
            """Render rows as CSV with a header; missing values become empty cells."""
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\\n")
            writer.writerow(columns)
            for row in rows:
                writer.writerow(["" if row.get(column) is None else row.get(column) for column in columns])
            return buffer.getvalue()
        ''', name=name)
    test = block('''
        text = @@name@@([{"a": 1}, {"a": None, "b": "x"}], ["a", "b"])
        assert text.splitlines() == ["a,b", "1,", ",x"]
        ''', name=name)
    return Snip(name, code, ("import csv", "import io", "from collections.abc import Iterable, Mapping, Sequence",
                             "from typing import Any"), test=test)


def snip_ngrams(rng: random.Random, nm: Names, noun: str, fld: str) -> Snip:
    name = nm.take(rng.choice(["word_ngrams", "shingles", "phrase_ngrams"]))
    code = block('''
        def @@name@@(text: str, n: int = @@n@@) -> list[str]:
            words = [w for w in re.split(r"\\W+", text.lower()) if w]
            if len(words) < n:
                return [" ".join(words)] if words else []
            return [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]
        ''', name=name, n=rng.choice([2, 3]))
    return Snip(name, code, ("import re",))


def snip_bucket(rng: random.Random, nm: Names, noun: str, fld: str) -> Snip:
    minutes = rng.choice([5, 15, 30, 60])
    name = nm.take(f"bucket_{noun}_events")
    code = block('''
        def @@name@@(timestamps: Iterable[datetime], *, minutes: int = @@m@@) -> dict[datetime, int]:
            """Count events per `minutes`-wide bucket (bucket start as key)."""
            counts: Counter[datetime] = Counter()
            width = minutes * 60
            for ts in timestamps:
                epoch = int(ts.timestamp())
                counts[datetime.fromtimestamp(epoch - epoch % width, tz=timezone.utc)] += 1
            return dict(sorted(counts.items()))
        ''', name=name, m=minutes)
    return Snip(name, code, ("from collections import Counter", "from collections.abc import Iterable",
                             "from datetime import datetime, timezone"))


def snip_aggregator(rng: random.Random, nm: Names, noun: str, fld: str) -> Snip:
    cls = nm.take(camel(noun) + rng.choice(["Tally", "Counter", "Aggregate"]))
    code = block('''
        class @@cls@@:
            """Accumulates per-@@fld@@ counts across pages of results."""

            def __init__(self) -> None:
                self._counts: dict[str, int] = {}
                self._seen = 0

            def add(self, @@fld@@: str | None, amount: int = 1) -> None:
                bucket = @@fld@@ or "unknown"
                self._counts[bucket] = self._counts.get(bucket, 0) + amount
                self._seen += amount

            def merge(self, other: @@cls@@) -> None:
                for bucket, amount in other._counts.items():
                    self.add(bucket, amount)

            @property
            def seen(self) -> int:
                return self._seen

            def top(self, limit: int = 5) -> list[tuple[str, int]]:
                return sorted(self._counts.items(), key=lambda item: (-item[1], item[0]))[:limit]
        ''', cls=cls, fld=fld)
    test = block('''
        tally = @@cls@@()
        tally.add("a")
        tally.add("b", 3)
        tally.add(None)
        assert tally.seen == 5
        assert tally.top(1) == [("b", 3)]
        ''', cls=cls)
    return Snip(cls, code, (), test=test)


def snip_textchunks(rng: random.Random, nm: Names, noun: str, fld: str) -> Snip:
    name = nm.take(rng.choice(["split_passages", "window_text", "overlapping_chunks"]))
    size = rng.choice([200, 300, 400, 512])
    overlap = rng.choice([20, 40, 50])
    code = block('''
        def @@name@@(text: str, *, size: int = @@size@@, overlap: int = @@overlap@@) -> list[str]:
            """Split text into word windows of `size` words overlapping by `overlap`."""
            if overlap >= size:
                raise ValueError("overlap must be smaller than size")
            words = text.split()
            passages: list[str] = []
            start = 0
            while start < len(words):
                passages.append(" ".join(words[start : start + size]))
                if start + size >= len(words):
                    break
                start += size - overlap
            return passages
        ''', name=name, size=size, overlap=overlap)
    test = block('''
        text = " ".join(str(i) for i in range(@@size@@ * 2))
        parts = @@name@@(text)
        assert len(parts) >= 2
        assert parts[0].split()[0] == "0"
        ''', name=name, size=size)
    return Snip(name, code, (), test=test)


def snip_duration(rng: random.Random, nm: Names, noun: str, fld: str) -> Snip:
    name = nm.take(rng.choice(["parse_duration", "duration_seconds", "parse_interval"]))
    code = block('''
        @lru_cache(maxsize=256)
        def @@name@@(text: str) -> int:
            """'90s', '15m', '2h', '1d' -> seconds."""
            match = re.fullmatch(r"\\s*(\\d+)\\s*([smhd])\\s*", text)
            if match is None:
                raise ValueError(f"bad duration: {text!r}")
            amount, unit = int(match.group(1)), match.group(2)
            return amount * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
        ''', name=name)
    test = block('''
        assert @@name@@("15m") == 900
        assert @@name@@(" 2h ") == 7200
        with pytest.raises(ValueError):
            @@name@@("soon")
        ''', name=name)
    return Snip(name, code, ("import re", "from functools import lru_cache"), test=test,
                test_imports=("import pytest",))


def snip_jsonload(rng: random.Random, nm: Names, noun: str, fld: str) -> Snip:
    name = nm.take(f"load_{noun}_{fld}_json")
    code = block('''
        def @@name@@(raw: str | bytes | None, default: Any = None) -> Any:
            """Parse JSON stored in a text column; corrupt values fall back to `default`."""
            if raw in (None, "", b""):
                return default
            try:
                return json.loads(raw)
            except (TypeError, ValueError):
                logger.warning("ignoring malformed @@human@@ @@fld@@ payload")
                return default
        ''', name=name, human=words(noun), fld=words(fld))
    test = block('''
        assert @@name@@('{"a": 1}') == {"a": 1}
        assert @@name@@("{oops", default={}) == {}
        ''', name=name)
    return Snip(name, code, ("import json", "import logging", "from typing import Any"),
                ("logger = logging.getLogger(__name__)",), test)


def snip_quota(rng: random.Random, nm: Names, noun: str, fld: str) -> Snip:
    cls = nm.take(camel(noun) + "Quota")
    code = block('''
        @dataclass
        class @@cls@@:
            """Monthly allowance of @@plural@@ for a plan."""

            limit: int
            used: int = 0
            soft_ratio: float = @@ratio@@

            @property
            def remaining(self) -> int:
                return max(0, self.limit - self.used)

            @property
            def near_limit(self) -> bool:
                return self.limit > 0 and self.used >= self.limit * self.soft_ratio

            def consume(self, amount: int = 1) -> bool:
                if amount < 0:
                    raise ValueError("amount must not be negative")
                if self.used + amount > self.limit:
                    return False
                self.used += amount
                return True
        ''', cls=cls, plural=words(plural(noun)), ratio=rng.choice([0.8, 0.85, 0.9]))
    test = block('''
        quota = @@cls@@(limit=3)
        assert quota.consume(2)
        assert not quota.consume(2)
        assert quota.remaining == 1
        ''', cls=cls)
    return Snip(cls, code, ("from dataclasses import dataclass",), test=test)


def snip_dedupe(rng: random.Random, nm: Names, noun: str, fld: str) -> Snip:
    name = nm.take(f"dedupe_{plural(noun)}")
    code = block('''
        def @@name@@(rows: Iterable[Mapping[str, Any]], *, key: str = "@@fld@@") -> list[Mapping[str, Any]]:
            """Keep the first row for each value of `key`, preserving order."""
            seen: set[Any] = set()
            unique: list[Mapping[str, Any]] = []
            for row in rows:
                marker = row.get(key)
                if marker in seen:
                    continue
                seen.add(marker)
                unique.append(row)
            return unique
        ''', name=name, fld=fld)
    test = block('''
        rows = [{"@@fld@@": 1}, {"@@fld@@": 2}, {"@@fld@@": 1}]
        assert @@name@@(rows) == [{"@@fld@@": 1}, {"@@fld@@": 2}]
        ''', name=name, fld=fld)
    return Snip(name, code, ("from collections.abc import Iterable, Mapping", "from typing import Any"), test=test)


PY_SNIPS = [snip_normalize, snip_batched, snip_score, snip_group, snip_window, snip_dataclass, snip_enum,
            snip_retry, snip_slug, snip_page, snip_merge, snip_bytes, snip_percentile, snip_diff, snip_email,
            snip_csv, snip_ngrams, snip_bucket, snip_aggregator, snip_textchunks, snip_duration, snip_jsonload,
            snip_quota, snip_dedupe]

FIELD_WORDS = ["title", "name", "status", "kind", "owner", "source", "category", "region", "channel", "locale",
               "priority", "plan", "segment", "language", "stage"]


def sort_imports(imports: set[str]) -> str:
    """Group stdlib `import x` / `from x import y` lines the way isort would."""
    plain = sorted(i for i in imports if i.startswith("import "))
    froms: dict[str, set[str]] = {}
    for i in imports:
        if i.startswith("from "):
            mod, _, names = i[5:].partition(" import ")
            froms.setdefault(mod, set()).update(n.strip() for n in names.split(","))
    lines = plain + [f"from {mod} import {', '.join(sorted(froms[mod]))}" for mod in sorted(froms)]
    return "\n".join(lines)


def render_py_module(doc: str, snips: list[Snip], extra_imports: tuple[str, ...] = ()) -> str:
    imports: set[str] = set(extra_imports)
    prelude: list[str] = []
    for s in snips:
        imports.update(s.imports)
        for p in s.prelude:
            if p not in prelude:
                prelude.append(p)
    parts = [f'"""{doc}"""\n', "from __future__ import annotations\n"]
    if imports:
        parts.append(sort_imports(imports) + "\n")
    if prelude:
        parts.append("\n".join(prelude) + "\n")
    text = "\n".join(parts)
    for s in snips:
        text += "\n\n" + s.code
    return text


def py_ordinary_module(rng: random.Random, noun: str, n_snips: int, doc: str) -> tuple[str, list[Snip]]:
    nm = Names(rng)
    snips = []
    makers = rng.sample(PY_SNIPS, min(n_snips, len(PY_SNIPS)))
    for maker in makers:
        snips.append(maker(rng, nm, noun, rng.choice(FIELD_WORDS)))
    return render_py_module(doc, snips), snips


def py_test_module(module: str, snips: list[Snip], doc: str) -> str | None:
    tested = [s for s in snips if s.test]
    if not tested:
        return None
    imports: set[str] = set()
    for s in tested:
        imports.update(s.test_imports)
    head = f'"""{doc}"""\n\nfrom __future__ import annotations\n\n'
    if imports:
        head += sort_imports(imports) + "\n\n"
    names = sorted({n for s in tested for n in (s.name, *s.also_exports)})
    head += f"from {module} import {', '.join(names)}\n"
    body = ""
    for s in tested:
        base = re.sub(r"(?<!^)(?=[A-Z])", "_", s.name).lower()
        body += f"\n\ndef test_{base}() -> None:\n{indent(s.test.rstrip(), 4)}\n"
    return head + body


# --------------------------------------------------------------------------
# Python services: per-entity files
# --------------------------------------------------------------------------


def model_py(e: Entity) -> str:
    sa_names = {"ForeignKey", "DateTime", "Index", "func"}
    uses_uuid_type = True
    uses_jsonb = False
    lines = []
    for f in e.fields:
        sa_t = fmt_type(SA_TYPE, f)
        if f.kind in SA_IMPORT:
            sa_names.add(SA_IMPORT[f.kind])
        if f.kind == "json":
            uses_jsonb = True
        py_t = PY_TYPE[f.kind] + (" | None" if f.nullable else "")
        args = [sa_t]
        if f.name in ("owner_id", "parent_id"):
            target = "users.id" if f.name == "owner_id" else f"{e.table}.id"
            args.append(f'ForeignKey("{target}", ondelete="SET NULL")')
        if not f.nullable:
            if f.kind in ("int", "bigint"):
                args.append("default=0")
            elif f.kind == "bool":
                args.append("default=False")
            elif f.kind == "json":
                args.append("default=dict")
            elif f.name == "status":
                args.append('default="active"')
        args.append(f"nullable={f.nullable}")
        lines.append(f"    {f.name}: Mapped[{py_t}] = mapped_column({', '.join(args)})")
    pg = ["UUID"] + (["JSONB"] if uses_jsonb else [])
    any_import = "\nfrom typing import Any" if uses_jsonb else ""
    return block('''
        """ORM model for the `@@table@@` table."""

        from __future__ import annotations

        import uuid
        from datetime import datetime@@any_import@@

        from sqlalchemy import @@sa@@
        from sqlalchemy.dialects.postgresql import @@pg@@
        from sqlalchemy.orm import Mapped, mapped_column

        from app.models.base import Base


        class @@cls@@(Base):
            __tablename__ = "@@table@@"
            __table_args__ = (Index("ix_@@table@@_@@tcol@@_created_at", "@@tcol@@", "created_at"),)

            id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
            @@tcol@@: Mapped[uuid.UUID] = mapped_column(
                UUID(as_uuid=True), ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
            )
        @@fields@@
            created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
            updated_at: Mapped[datetime] = mapped_column(
                DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
            )

            def __repr__(self) -> str:
                return f"<@@cls@@ id={self.id} @@tcol@@={self.@@tcol@@}>"
        ''', table=e.table, cls=e.cls, tcol=e.tenant_col, fields="\n".join(lines),
                 sa=", ".join(sorted(sa_names, key=lambda n: (n[0].islower(), n))), pg=", ".join(sorted(pg)),
                 any_import=any_import)


def schema_py(rng: random.Random, e: Entity) -> str:
    base_lines, update_lines = [], []
    needs_any = needs_dt = needs_uuid = False
    for f in e.fields:
        py_t = PY_TYPE[f.kind]
        needs_any |= f.kind == "json"
        needs_dt |= f.kind == "datetime"
        needs_uuid |= f.kind == "uuid"
        if f is e.display:
            base_lines.append(f"    {f.name}: str = Field(..., min_length=1, max_length={f.length})")
            update_lines.append(f"    {f.name}: str | None = Field(default=None, min_length=1, max_length={f.length})")
            continue
        if f.nullable:
            base_lines.append(f"    {f.name}: {py_t} | None = None")
        elif f.kind == "str" and f.length:
            default = '"active"' if f.name == "status" else '"en"' if f.name in ("language", "locale") else '"default"'
            base_lines.append(f"    {f.name}: str = Field(default={default}, max_length={f.length})")
        elif f.kind in ("int", "bigint"):
            base_lines.append(f"    {f.name}: int = Field(default=0, ge=0)")
        elif f.kind == "bool":
            base_lines.append(f"    {f.name}: bool = False")
        elif f.kind == "json":
            base_lines.append(f"    {f.name}: dict[str, Any] = Field(default_factory=dict)")
        elif f.kind == "text":
            base_lines.append(f'    {f.name}: str = ""')
        else:
            base_lines.append(f"    {f.name}: {py_t} | None = None")
        update_lines.append(f"    {f.name}: {py_t} | None = None")
    validator = ""
    if rng.random() < 0.6:
        validator = block('''

            @field_validator("@@fld@@")
            @classmethod
            def _strip_@@fld@@(cls, value: str) -> str:
                cleaned = value.strip()
                if not cleaned:
                    raise ValueError("@@fld@@ must not be blank")
                return cleaned
            ''', fld=e.display.name)
        validator = indent(validator, 4) + "\n"
    imports = ["from __future__ import annotations", ""]
    imports.append("import uuid")
    imports.append("from datetime import datetime")
    if needs_any:
        imports.append("from typing import Any")
    imports.append("")
    pyd = ["BaseModel", "ConfigDict", "Field"] + (["field_validator"] if validator else [])
    imports.append(f"from pydantic import {', '.join(pyd)}")
    list_model = ""
    if rng.random() < 0.5:
        list_model = block('''


            class @@cls@@Page(BaseModel):
                items: list[@@cls@@Read]
                total: int
                limit: int
                offset: int
                next_offset: int | None = None
            ''', cls=e.cls)
    return block('''
        """Request and response models for @@human@@ endpoints."""

        @@imports@@


        class @@cls@@Base(BaseModel):
        @@base@@
        @@validator@@

        class @@cls@@Create(@@cls@@Base):
            pass


        class @@cls@@Update(BaseModel):
            model_config = ConfigDict(extra="forbid")

        @@update@@


        class @@cls@@Read(@@cls@@Base):
            model_config = ConfigDict(from_attributes=True)

            id: uuid.UUID
            @@tcol@@: uuid.UUID
            created_at: datetime
            updated_at: datetime
        ''', human=plural(e.human), imports="\n".join(imports), cls=e.cls, base="\n".join(base_lines),
                 validator=validator, update="\n".join(update_lines), tcol=e.tenant_col) + list_model


def repository_py(rng: random.Random, e: Entity) -> str:
    c, t = e.cls, e.tenant_col
    var = e.name
    extras = []
    if e.has("status"):
        extras.append(block('''

            async def list_by_status(self, status: str, *, limit: int = 100) -> Sequence[@@c@@]:
                stmt = (
                    select(@@c@@)
                    .where(@@c@@.@@t@@ == self._@@t@@, @@c@@.status == status)
                    .order_by(@@c@@.created_at.desc())
                    .limit(limit)
                )
                return (await self._db.execute(stmt)).scalars().all()
            ''', c=c, t=t))
    if e.display.kind == "str":
        extras.append(block('''

            async def search_by_@@d@@(self, needle: str, *, limit: int = 20) -> Sequence[@@c@@]:
                pattern = f"%{needle.strip()}%"
                stmt = (
                    select(@@c@@)
                    .where(@@c@@.@@t@@ == self._@@t@@, @@c@@.@@d@@.ilike(pattern))
                    .order_by(@@c@@.@@d@@)
                    .limit(limit)
                )
                return (await self._db.execute(stmt)).scalars().all()
            ''', c=c, t=t, d=e.display.name))
    if rng.random() < 0.5:
        extras.append(block('''

            async def count_by_day(self, since: datetime) -> list[tuple[datetime, int]]:
                day = func.date_trunc("day", @@c@@.created_at)
                stmt = (
                    select(day, func.count(@@c@@.id))
                    .where(@@c@@.@@t@@ == self._@@t@@, @@c@@.created_at >= since)
                    .group_by(day)
                    .order_by(day)
                )
                return [(row[0], row[1]) for row in (await self._db.execute(stmt)).all()]
            ''', c=c, t=t))
    if e.has("is_archived") and rng.random() < 0.7:
        extras.append(block('''

            async def archive_many(self, ids: Sequence[uuid.UUID]) -> int:
                if not ids:
                    return 0
                stmt = (
                    update(@@c@@)
                    .where(@@c@@.@@t@@ == self._@@t@@, @@c@@.id.in_(ids))
                    .values(is_archived=True)
                )
                result = await self._db.execute(stmt)
                return result.rowcount or 0
            ''', c=c, t=t))
    rng.shuffle(extras)
    body = block('''
        """Data access for @@human@@. Every query is scoped to one organisation."""

        from __future__ import annotations

        import uuid
        from collections.abc import Sequence
        from datetime import datetime
        from typing import Any

        from sqlalchemy import delete, func, select, update
        from sqlalchemy.ext.asyncio import AsyncSession

        from app.models.@@var@@ import @@c@@


        class @@c@@Repository:
            def __init__(self, db: AsyncSession, @@t@@: uuid.UUID) -> None:
                self._db = db
                self._@@t@@ = @@t@@

            async def get(self, @@var@@_id: uuid.UUID) -> @@c@@ | None:
                stmt = select(@@c@@).where(@@c@@.@@t@@ == self._@@t@@, @@c@@.id == @@var@@_id)
                return (await self._db.execute(stmt)).scalar_one_or_none()

            async def list(self, *, limit: int = 50, offset: int = 0) -> Sequence[@@c@@]:
                stmt = (
                    select(@@c@@)
                    .where(@@c@@.@@t@@ == self._@@t@@)
                    .order_by(@@c@@.created_at.desc())
                    .limit(limit)
                    .offset(offset)
                )
                return (await self._db.execute(stmt)).scalars().all()

            async def count(self) -> int:
                stmt = select(func.count(@@c@@.id)).where(@@c@@.@@t@@ == self._@@t@@)
                return int((await self._db.execute(stmt)).scalar_one())

            async def created_since(self, since: datetime, *, limit: int = 200) -> Sequence[@@c@@]:
                stmt = (
                    select(@@c@@)
                    .where(@@c@@.@@t@@ == self._@@t@@, @@c@@.created_at >= since)
                    .order_by(@@c@@.created_at)
                    .limit(limit)
                )
                return (await self._db.execute(stmt)).scalars().all()

            async def create(self, **values: Any) -> @@c@@:
                item = @@c@@(@@t@@=self._@@t@@, **values)
                self._db.add(item)
                await self._db.flush()
                await self._db.refresh(item)
                return item

            async def update(self, @@var@@_id: uuid.UUID, **values: Any) -> @@c@@ | None:
                if not values:
                    return await self.get(@@var@@_id)
                stmt = (
                    update(@@c@@)
                    .where(@@c@@.@@t@@ == self._@@t@@, @@c@@.id == @@var@@_id)
                    .values(**values)
                    .returning(@@c@@)
                )
                return (await self._db.execute(stmt)).scalar_one_or_none()

            async def delete(self, @@var@@_id: uuid.UUID) -> bool:
                stmt = delete(@@c@@).where(@@c@@.@@t@@ == self._@@t@@, @@c@@.id == @@var@@_id)
                result = await self._db.execute(stmt)
                return bool(result.rowcount)
        ''', human=plural(e.human), var=var, c=c, t=t)
    for extra in extras:
        body += indent(extra, 4) + "\n"
    return body


def router_py(rng: random.Random, e: Entity) -> str:
    c, v, t = e.cls, e.name, e.tenant_col
    plural_v = plural(v)
    extras = []
    if rng.random() < 0.5:
        extras.append(block('''


            @router.get("/count")
            async def count_@@pv@@(
                user: CurrentUser = Depends(get_current_user),
                db: AsyncSession = Depends(get_tenant_db),
            ) -> dict[str, int]:
                return {"count": await @@c@@Repository(db, user.@@t@@).count()}
            ''', pv=plural_v, c=c, t=t))
    if e.display.kind == "str" and rng.random() < 0.6:
        extras.append(block('''


            @router.get("/search", response_model=list[@@c@@Read])
            async def search_@@pv@@(
                q: str = Query(..., min_length=2, max_length=100),
                limit: int = Query(20, ge=1, le=100),
                user: CurrentUser = Depends(get_current_user),
                db: AsyncSession = Depends(get_tenant_db),
            ) -> list[@@c@@Read]:
                repo = @@c@@Repository(db, user.@@t@@)
                rows = await repo.search_by_@@d@@(q, limit=limit)
                return [@@c@@Read.model_validate(row) for row in rows]
            ''', pv=plural_v, c=c, t=t, d=e.display.name))
    text = block('''
        """HTTP routes for @@human@@."""

        from __future__ import annotations

        import uuid

        from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
        from sqlalchemy.ext.asyncio import AsyncSession

        from app.api.deps import CurrentUser, get_current_user, get_tenant_db
        from app.models.@@v@@ import @@c@@
        from app.repositories.@@v@@_repository import @@c@@Repository
        from app.schemas.@@v@@ import @@c@@Create, @@c@@Read, @@c@@Update
        from app.services import @@v@@_service

        router = APIRouter(prefix="/@@url@@", tags=["@@url@@"])


        async def _get_@@v@@_or_404(repo: @@c@@Repository, @@t@@: uuid.UUID, @@v@@_id: uuid.UUID) -> @@c@@:
            item = await repo.get(@@v@@_id)
            if item is None or item.@@t@@ != @@t@@:
                raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="@@Human@@ not found")
            return item


        @router.get("", response_model=list[@@c@@Read])
        async def list_@@pv@@(
            limit: int = Query(50, ge=1, le=200),
            offset: int = Query(0, ge=0),
            user: CurrentUser = Depends(get_current_user),
            db: AsyncSession = Depends(get_tenant_db),
        ) -> list[@@c@@Read]:
            repo = @@c@@Repository(db, user.@@t@@)
            rows = await repo.list(limit=limit, offset=offset)
            return [@@c@@Read.model_validate(row) for row in rows]


        @router.post("", response_model=@@c@@Read, status_code=status.HTTP_201_CREATED)
        async def create_@@v@@(
            payload: @@c@@Create,
            user: CurrentUser = Depends(get_current_user),
            db: AsyncSession = Depends(get_tenant_db),
        ) -> @@c@@Read:
            values = @@v@@_service.prepare_values(payload.model_dump())
            item = await @@c@@Repository(db, user.@@t@@).create(**values)
            return @@c@@Read.model_validate(item)


        @router.get("/{@@v@@_id}", response_model=@@c@@Read)
        async def get_@@v@@(
            @@v@@_id: uuid.UUID,
            user: CurrentUser = Depends(get_current_user),
            db: AsyncSession = Depends(get_tenant_db),
        ) -> @@c@@Read:
            repo = @@c@@Repository(db, user.@@t@@)
            return @@c@@Read.model_validate(await _get_@@v@@_or_404(repo, user.@@t@@, @@v@@_id))


        @router.patch("/{@@v@@_id}", response_model=@@c@@Read)
        async def update_@@v@@(
            @@v@@_id: uuid.UUID,
            payload: @@c@@Update,
            user: CurrentUser = Depends(get_current_user),
            db: AsyncSession = Depends(get_tenant_db),
        ) -> @@c@@Read:
            repo = @@c@@Repository(db, user.@@t@@)
            await _get_@@v@@_or_404(repo, user.@@t@@, @@v@@_id)
            values = @@v@@_service.prepare_values(payload.model_dump(exclude_unset=True))
            updated = await repo.update(@@v@@_id, **values)
            if updated is None:
                raise HTTPException(status_code=status.HTTP_409_CONFLICT, detail="@@Human@@ changed concurrently")
            return @@c@@Read.model_validate(updated)


        @router.delete("/{@@v@@_id}", status_code=status.HTTP_204_NO_CONTENT)
        async def delete_@@v@@(
            @@v@@_id: uuid.UUID,
            user: CurrentUser = Depends(get_current_user),
            db: AsyncSession = Depends(get_tenant_db),
        ) -> Response:
            repo = @@c@@Repository(db, user.@@t@@)
            await _get_@@v@@_or_404(repo, user.@@t@@, @@v@@_id)
            await repo.delete(@@v@@_id)
            return Response(status_code=status.HTTP_204_NO_CONTENT)
        ''', human=plural(e.human), Human=e.human.capitalize(), c=c, v=v, t=t, pv=plural_v, url=e.url)
    return text + "".join(extras)


def service_py(rng: random.Random, e: Entity) -> tuple[str, list[Snip]]:
    """Business logic next to an entity: `prepare_values` plus ordinary helpers."""
    nm = Names(rng)
    nm.used.add("prepare_values")
    snips = [m(rng, nm, e.name, rng.choice([f.name for f in e.fields] + FIELD_WORDS))
             for m in rng.sample(PY_SNIPS, rng.randint(4, 11))]
    strip_fields = [f.name for f in e.fields if f.kind in ("str", "text")][:3]
    prepare = Snip("prepare_values", block('''
        def prepare_values(values: dict[str, Any]) -> dict[str, Any]:
            """Normalise user input before it is written."""
            cleaned = {key: value for key, value in values.items() if value is not None or key in _NULLABLE}
            for key in @@strip@@:
                if isinstance(cleaned.get(key), str):
                    cleaned[key] = " ".join(cleaned[key].split())
            return cleaned
        ''', strip=tuple(strip_fields)), ("from typing import Any",),
        (f"_NULLABLE = frozenset({tuple(f.name for f in e.fields if f.nullable)!r})",))
    doc = f"Business rules for {plural(e.human)}.\n\n{rng.choice(DOC_PHRASES)}\n"
    return render_py_module(doc, [prepare] + snips), snips


def alembic_create_py(rng: random.Random, e: Entity, rev: str, down: str | None, date: str) -> str:
    cols = []
    for f in e.fields:
        args = [f'"{f.name}"', fmt_type(ALEMBIC_TYPE, f)]
        if f.name == "owner_id":
            args.append('sa.ForeignKey("users.id", ondelete="SET NULL")')
        if not f.nullable and f.kind in SQL_DEFAULT:
            args.append(f'server_default=sa.text("{SQL_DEFAULT[f.kind]}")')
        args.append(f"nullable={f.nullable}")
        cols.append(f"        sa.Column({', '.join(args)}),")
    pred = f"{e.tenant_col} = current_setting('{e.setting}')::uuid"
    if e.split_policies:
        policies = block('''
            op.execute(
                "CREATE POLICY tenant_isolation_select ON @@table@@ FOR SELECT USING (@@pred@@)"
            )
            op.execute(
                "CREATE POLICY tenant_isolation_insert ON @@table@@ FOR INSERT WITH CHECK (@@pred@@)"
            )
            op.execute(
                "CREATE POLICY tenant_isolation_update ON @@table@@ FOR UPDATE "
                "USING (@@pred@@) WITH CHECK (@@pred@@)"
            )
            op.execute(
                "CREATE POLICY tenant_isolation_delete ON @@table@@ FOR DELETE USING (@@pred@@)"
            )
            ''', table=e.table, pred=pred)
    else:
        policies = block('''
            op.execute(
                """
                CREATE POLICY tenant_isolation ON @@table@@
                    USING (@@pred@@)
                    WITH CHECK (@@pred@@)
                """
            )
            ''', table=e.table, pred=pred)
    return block('''
        """create @@table@@

        Revision ID: @@rev@@
        Revises: @@down_doc@@
        Create Date: @@date@@
        """

        from collections.abc import Sequence

        import sqlalchemy as sa
        from alembic import op
        from sqlalchemy.dialects import postgresql

        revision: str = "@@rev@@"
        down_revision: str | None = @@down@@
        branch_labels: str | Sequence[str] | None = None
        depends_on: str | Sequence[str] | None = None


        def upgrade() -> None:
            op.create_table(
                "@@table@@",
                sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
                sa.Column(
                    "@@tcol@@",
                    postgresql.UUID(as_uuid=True),
                    sa.ForeignKey("organizations.id", ondelete="CASCADE"),
                    nullable=False,
                ),
        @@cols@@
                sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
                sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
            )
            op.create_index("ix_@@table@@_@@tcol@@_created_at", "@@table@@", ["@@tcol@@", "created_at"])
            op.execute("ALTER TABLE @@table@@ ENABLE ROW LEVEL SECURITY")
            op.execute("ALTER TABLE @@table@@ FORCE ROW LEVEL SECURITY")
        @@policies@@


        def downgrade() -> None:
            op.drop_index("ix_@@table@@_@@tcol@@_created_at", table_name="@@table@@")
            op.drop_table("@@table@@")
        ''', table=e.table, rev=rev, down_doc=down or "", date=date, down=repr(down), tcol=e.tenant_col,
                 cols="\n".join(cols), policies=indent(policies.rstrip("\n"), 4))


def alembic_index_py(rng: random.Random, e: Entity, rev: str, down: str, date: str) -> str:
    f = rng.choice(e.fields)
    return block('''
        """index @@table@@.@@col@@

        Revision ID: @@rev@@
        Revises: @@down@@
        Create Date: @@date@@
        """

        from collections.abc import Sequence

        from alembic import op

        revision: str = "@@rev@@"
        down_revision: str | None = "@@down@@"
        branch_labels: str | Sequence[str] | None = None
        depends_on: str | Sequence[str] | None = None


        def upgrade() -> None:
            op.create_index(
                "ix_@@table@@_@@tcol@@_@@col@@",
                "@@table@@",
                ["@@tcol@@", "@@col@@"],
                postgresql_concurrently=False,
            )


        def downgrade() -> None:
            op.drop_index("ix_@@table@@_@@tcol@@_@@col@@", table_name="@@table@@")
        ''', table=e.table, col=f.name, rev=rev, down=down, date=date, tcol=e.tenant_col)


# --------------------------------------------------------------------------
# Python services: the files every service has once
# --------------------------------------------------------------------------


@dataclass
class PyService:
    name: str  # directory under services/
    env_prefix: str
    setting: str = "app.current_org_id"
    has_db: bool = True
    has_alembic: bool = True
    package: str = "app"
    secrets: tuple[str, ...] = ("internal_secret",)
    encryption_key: bool = False
    entities: list[Entity] = field(default_factory=list)
    routers: list[str] = field(default_factory=list)  # module names under app/api
    revisions: list[str] = field(default_factory=list)


def config_py(s: PyService) -> str:
    fields = []
    if s.has_db:
        db = s.name.split("-")[0]
        fields += [f'database_url: str = "postgresql+asyncpg://{db}@localhost:5432/{db}"',
                   "database_pool_size: int = Field(default=10, ge=1, le=100)",
                   "database_echo: bool = False"]
    fields += ['redis_url: str = "redis://localhost:6379/0"',
               'qdrant_url: str = "http://localhost:6333"',
               "request_timeout_seconds: float = Field(default=10.0, gt=0)",
               'jwt_issuer: str = "https://auth.example.internal"',
               f'jwt_audience: str = "{s.name}"',
               'jwt_public_key: str = ""']
    fields += [f'{name}: str = ""' for name in s.secrets]
    if s.encryption_key:
        fields.append('encryption_key: str = ""')
    names = "".join(f'    "{n}",\n' for n in ("jwt_public_key",) + s.secrets)
    validators = block('''
        @field_validator(
        @@names@@)
        @classmethod
        def _required_secret(cls, value: str) -> str:
            if not value.strip():
                raise ValueError("must be set to a non-empty value")
            return value
        ''', names=names)
    if s.encryption_key:
        validators += "\n" + block('''
            @field_validator("encryption_key")
            @classmethod
            def _valid_encryption_key(cls, value: str) -> str:
                if not value.strip():
                    raise ValueError("encryption_key must be set")
                try:
                    raw = base64.b64decode(value, validate=True)
                except (binascii.Error, ValueError) as exc:
                    raise ValueError("encryption_key must be base64") from exc
                if len(raw) != 32:
                    raise ValueError("encryption_key must decode to 32 bytes")
                return value
            ''')
    imports = "import base64\nimport binascii\n" if s.encryption_key else ""
    return block('''
        """Runtime configuration, read from the environment (prefix `@@prefix@@_`)."""

        from __future__ import annotations

        @@imports@@from functools import lru_cache

        from pydantic import Field, field_validator
        from pydantic_settings import BaseSettings, SettingsConfigDict


        class Settings(BaseSettings):
            model_config = SettingsConfigDict(env_prefix="@@prefix@@_", env_file=".env", extra="ignore")

            environment: str = "development"
            log_level: str = "INFO"
            service_name: str = "@@name@@"
        @@fields@@

        @@validators@@


        @lru_cache
        def get_settings() -> Settings:
            return Settings()


        settings = get_settings()
        ''', prefix=s.env_prefix, imports=imports, name=s.name, fields=indent("\n".join(fields), 4),
                 validators=indent(validators, 4))


def db_py(s: PyService) -> str:
    return block('''
        """Database engine and the tenant-scoped session helper.

        Application code never opens `AsyncSessionLocal()` itself: it asks for
        `tenant_scoped_session(org_id)`, which pins the organisation for the
        transaction so that row level security applies.
        """

        from __future__ import annotations

        import uuid
        from collections.abc import AsyncIterator
        from contextlib import asynccontextmanager

        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

        from @@pkg@@.config import settings

        engine = create_async_engine(
            settings.database_url,
            pool_size=settings.database_pool_size,
            pool_pre_ping=True,
            echo=settings.database_echo,
        )
        AsyncSessionLocal = async_sessionmaker(engine, expire_on_commit=False)


        async def set_tenant(db: AsyncSession, org_id: uuid.UUID | str) -> None:
            """Bind the organisation for the current transaction only."""
            await db.execute(
                text("SELECT set_config('@@setting@@', :org_id, true)"),
                {"org_id": str(org_id)},
            )


        @asynccontextmanager
        async def tenant_scoped_session(org_id: uuid.UUID | str) -> AsyncIterator[AsyncSession]:
            async with AsyncSessionLocal() as db:
                async with db.begin():
                    await set_tenant(db, org_id)
                    yield db
        ''', pkg=s.package, setting=s.setting)


def deps_py(s: PyService) -> str:
    if s.has_db:
        imports = ("import uuid\nfrom collections.abc import AsyncIterator\nfrom dataclasses import dataclass\n\n"
                   "from fastapi import Depends, HTTPException, Request, status\n"
                   "from sqlalchemy.ext.asyncio import AsyncSession\n\nfrom app.db import tenant_scoped_session")
    else:
        imports = "import uuid\nfrom dataclasses import dataclass\n\nfrom fastapi import HTTPException, Request, status"
    db_dep = block('''


        async def get_tenant_db(user: CurrentUser = Depends(get_current_user)) -> AsyncIterator[AsyncSession]:
            async with tenant_scoped_session(user.org_id) as db:
                yield db
        ''')
    return block('''
        """Dependencies shared by the routers."""

        from __future__ import annotations

        @@imports@@


        @dataclass(frozen=True)
        class CurrentUser:
            id: uuid.UUID
            org_id: uuid.UUID
            email: str
            roles: frozenset[str]

            def has_role(self, role: str) -> bool:
                return role in self.roles


        def get_current_user(request: Request) -> CurrentUser:
            claims = getattr(request.state, "claims", None)
            if not claims:
                raise HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail="not authenticated")
            return CurrentUser(
                id=uuid.UUID(str(claims["sub"])),
                org_id=uuid.UUID(str(claims["org_id"])),
                email=str(claims.get("email", "")),
                roles=frozenset(claims.get("roles", ())),
            )
        ''', imports=imports) + (db_dep if s.has_db else "")


def middleware_py(s: PyService) -> str:
    return block('''
        """Bearer-token authentication for every non-public route."""

        from __future__ import annotations

        import logging
        from contextvars import ContextVar
        from typing import Any

        import jwt
        from fastapi import Request
        from fastapi.responses import JSONResponse
        from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
        from starlette.responses import Response

        from @@pkg@@.config import settings

        logger = logging.getLogger(__name__)

        PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/docs", "/openapi.json"})
        current_org_id: ContextVar[str | None] = ContextVar("current_org_id", default=None)


        def decode_access_token(raw: str) -> dict[str, Any]:
            return jwt.decode(
                raw,
                settings.jwt_public_key,
                algorithms=["RS256"],
                audience=settings.jwt_audience,
                issuer=settings.jwt_issuer,
                options={"require": ["exp", "iat", "sub", "org_id"]},
            )


        class AuthMiddleware(BaseHTTPMiddleware):
            async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
                path = request.url.path
                if path in PUBLIC_PATHS or path.startswith("/webhooks/"):
                    # Webhooks authenticate with their own HMAC signature.
                    return await call_next(request)
                scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
                if scheme.lower() != "bearer" or not credentials:
                    return JSONResponse({"detail": "missing bearer credentials"}, status_code=401)
                try:
                    claims = decode_access_token(credentials)
                except jwt.ExpiredSignatureError:
                    return JSONResponse({"detail": "expired"}, status_code=401)
                except jwt.PyJWTError:
                    logger.info("rejected bearer credentials", extra={"path": path})
                    return JSONResponse({"detail": "invalid credentials"}, status_code=401)
                request.state.claims = claims
                reset_marker = current_org_id.set(str(claims["org_id"]))
                try:
                    return await call_next(request)
                finally:
                    current_org_id.reset(reset_marker)
        ''', pkg=s.package)


def cache_py(s: PyService, corpus: Corpus, path: str, plant_export_key: bool) -> str:
    ns = s.name.split("-")[0]
    text = block('''
        """Redis helpers. Every key carries the organisation id right after the namespace."""

        from __future__ import annotations

        import json
        import uuid
        from typing import Any

        from redis.asyncio import Redis

        from @@pkg@@.config import settings

        NAMESPACE = "@@ns@@"
        DEFAULT_TTL_SECONDS = @@ttl@@

        _client: Redis | None = None


        async def get_redis() -> Redis:
            global _client
            if _client is None:
                _client = Redis.from_url(settings.redis_url, decode_responses=True)
            return _client


        def cache_key(org_id: uuid.UUID | str, kind: str, ident: str) -> str:
            return f"{NAMESPACE}:{org_id}:{kind}:{ident}"


        async def get_json(org_id: uuid.UUID | str, kind: str, ident: str) -> Any | None:
            redis = await get_redis()
            raw = await redis.get(f"{NAMESPACE}:{org_id}:{kind}:{ident}")
            return json.loads(raw) if raw else None


        async def set_json(
            org_id: uuid.UUID | str, kind: str, ident: str, value: Any, ttl: int = DEFAULT_TTL_SECONDS
        ) -> None:
            redis = await get_redis()
            await redis.set(f"{NAMESPACE}:{org_id}:{kind}:{ident}", json.dumps(value, default=str), ex=ttl)


        async def invalidate(org_id: uuid.UUID | str, kind: str, ident: str) -> None:
            redis = await get_redis()
            await redis.delete(f"{NAMESPACE}:{org_id}:{kind}:{ident}")


        async def flush_org(org_id: uuid.UUID | str) -> int:
            """Drop every cached value of one organisation (deprovisioning)."""
            redis = await get_redis()
            removed = 0
            async for key in redis.scan_iter(match=f"{NAMESPACE}:{org_id}:*", count=500):
                removed += await redis.delete(key)
            return removed


        async def hit_rate_limit(org_id: uuid.UUID | str, bucket: str, limit: int, window_seconds: int) -> bool:
            redis = await get_redis()
            key = f"{NAMESPACE}:{org_id}:ratelimit:{bucket}"
            count = await redis.incr(key)
            if count == 1:
                await redis.expire(key, window_seconds)
            return count > limit
        ''', pkg=s.package, ns=ns, ttl=300)
    if plant_export_key:
        text += block('''


            async def remember_export_task(task_id: str, payload: dict[str, Any]) -> None:
                """Keep an export task's state for the status endpoint."""
                redis = await get_redis()
                await redis.set(f"export:task:{task_id}", json.dumps(payload), ex=3600)
            ''')
        corpus.plant(path, 'await redis.set(f"export:task:{task_id}"', "TL010 Redis key without tenant")
    return text


def replay_py(s: PyService) -> str:
    return block('''
        """Replay protection for inbound webhooks."""

        from __future__ import annotations

        from redis.asyncio import Redis
        from redis.exceptions import RedisError

        from @@pkg@@.cache import get_redis


        class ReplayStoreUnavailable(RuntimeError):
            """The nonce store could not be reached; callers must fail closed."""


        class NonceStore:
            def __init__(self, redis: Redis, provider: str) -> None:
                self._redis = redis
                self._provider = provider

            async def remember(self, nonce: str, *, ttl_seconds: int) -> bool:
                """True the first time a nonce is seen within `ttl_seconds`."""
                try:
                    # tenant-lint: allow(TL010) nonces are global: a replay must be caught whichever org it names
                    return bool(await self._redis.set(f"webhook:nonce:{self._provider}:{nonce}", "1", nx=True, ex=ttl_seconds))
                except RedisError as exc:
                    raise ReplayStoreUnavailable(str(exc)) from exc


        async def get_nonce_store() -> NonceStore:
            return NonceStore(await get_redis(), provider="@@svc@@")
        ''', pkg=s.package, svc=s.name)


def webhook_py(s: PyService, provider: str, secret_field: str) -> str:
    return block('''
        """Inbound @@provider@@ webhooks: signed, replay-checked, tenant taken from the verified body."""

        from __future__ import annotations

        import hashlib
        import hmac
        import json
        import logging
        import time
        import uuid
        from typing import Any

        from fastapi import APIRouter, Depends, Header, HTTPException, Request, status
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import AsyncSession

        from @@pkg@@.config import settings
        from @@pkg@@.db import tenant_scoped_session
        from @@pkg@@.webhooks.replay import NonceStore, ReplayStoreUnavailable, get_nonce_store

        logger = logging.getLogger(__name__)
        router = APIRouter(prefix="/webhooks", tags=["webhooks"])

        REPLAY_WINDOW_SECONDS = 300


        def _expected_signature(timestamp: str, body: bytes) -> str:
            message = timestamp.encode("utf-8") + b"." + body
            return hmac.new(settings.@@secret@@.encode("utf-8"), message, hashlib.sha256).hexdigest()


        async def _record_event(db: AsyncSession, org_id: uuid.UUID, event: dict[str, Any]) -> None:
            await db.execute(
                text(
                    "INSERT INTO webhook_events (id, org_id, provider, event_type, payload) "
                    "VALUES (:id, :org_id, :provider, :event_type, CAST(:payload AS jsonb))"
                ),
                {
                    "id": str(uuid.uuid4()),
                    "org_id": str(org_id),
                    "provider": "@@provider@@",
                    "event_type": str(event.get("type", "unknown")),
                    "payload": json.dumps(event),
                },
            )


        @router.post("/@@provider@@", status_code=status.HTTP_202_ACCEPTED)
        async def receive_@@fn@@_event(
            request: Request,
            x_signature: str = Header(..., alias="X-@@Provider@@-Signature"),
            x_timestamp: str = Header(..., alias="X-@@Provider@@-Timestamp"),
            nonces: NonceStore = Depends(get_nonce_store),
        ) -> dict[str, str]:
            body = await request.body()
            expected = _expected_signature(x_timestamp, body)
            if not hmac.compare_digest(expected.encode("utf-8"), x_signature.encode("utf-8")):
                raise HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail="invalid signature")
            try:
                sent_at = int(x_timestamp)
            except ValueError:
                raise HTTPException(status_code=status.HTTP_400_BAD_REQUEST, detail="bad timestamp") from None
            if abs(time.time() - sent_at) > REPLAY_WINDOW_SECONDS:
                raise HTTPException(status_code=status.HTTP_409_CONFLICT, detail="stale delivery")
            try:
                first_seen = await nonces.remember(x_signature, ttl_seconds=REPLAY_WINDOW_SECONDS)
            except ReplayStoreUnavailable:
                logger.warning("replay store unavailable; refusing @@provider@@ delivery")
                raise HTTPException(
                    status_code=status.HTTP_503_SERVICE_UNAVAILABLE, detail="replay store unavailable"
                ) from None
            if not first_seen:
                raise HTTPException(status_code=status.HTTP_409_CONFLICT, detail="duplicate delivery")

            event = json.loads(body)
            org_id = uuid.UUID(str(event["org_id"]))
            async with tenant_scoped_session(org_id) as db:
                await _record_event(db, org_id, event)
            return {"status": "accepted"}
        ''', provider=provider, Provider=provider.capitalize(), fn=provider.replace("-", "_"),
                 pkg=s.package, secret=secret_field)


def legacy_webhook_py(s: PyService, corpus: Corpus, path: str) -> str:
    corpus.plant(path, "if signature == expected:", "TL013 non-constant-time signature compare")
    return block('''
        """Version 1 crawler callback, kept until every customer has moved to /webhooks/crawler."""

        from __future__ import annotations

        import hashlib
        import hmac
        import json
        import uuid

        from fastapi import APIRouter, HTTPException, Request
        from sqlalchemy import text

        from @@pkg@@.config import settings
        from @@pkg@@.db import tenant_scoped_session

        router = APIRouter(prefix="/webhooks", tags=["webhooks"])


        @router.post("/crawler-v1")
        async def receive_legacy_crawler_callback(request: Request) -> dict[str, str]:
            body = await request.body()
            signature = request.headers.get("X-Crawler-Signature", "")
            expected = hmac.new(settings.legacy_crawler_webhook_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
            if signature == expected:
                event = json.loads(body)
                org_id = uuid.UUID(str(event["org_id"]))
                async with tenant_scoped_session(org_id) as db:
                    await db.execute(
                        text("UPDATE crawls SET status = :status WHERE org_id = :org_id AND id = :crawl_id"),
                        {"status": event.get("status", "done"), "org_id": str(org_id), "crawl_id": event["crawl_id"]},
                    )
                return {"status": "accepted"}
            raise HTTPException(status_code=401, detail="invalid signature")
        ''', pkg=s.package)


def qdrant_writer_py(s: PyService) -> str:
    return block('''
        """Writes chunk embeddings to Qdrant. Every point carries its organisation id."""

        from __future__ import annotations

        import uuid
        from collections.abc import Sequence

        from qdrant_client import AsyncQdrantClient
        from qdrant_client.models import (
            Distance,
            FieldCondition,
            Filter,
            FilterSelector,
            MatchValue,
            PayloadSchemaType,
            PointStruct,
            VectorParams,
        )

        from @@pkg@@.config import settings

        COLLECTION = "knowledge"


        def get_client() -> AsyncQdrantClient:
            return AsyncQdrantClient(url=settings.qdrant_url, timeout=settings.request_timeout_seconds)


        async def ensure_collection(client: AsyncQdrantClient, dimension: int) -> None:
            if await client.collection_exists(COLLECTION):
                return
            await client.create_collection(
                collection_name=COLLECTION,
                vectors_config=VectorParams(size=dimension, distance=Distance.COSINE),
            )
            await client.create_payload_index(COLLECTION, field_name="org_id", field_schema=PayloadSchemaType.KEYWORD)


        async def upsert_chunks(
            client: AsyncQdrantClient, org_id: str, document_id: str, chunks: Sequence[tuple[str, list[float]]]
        ) -> int:
            points = [
                PointStruct(
                    id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{org_id}/{document_id}/{position}")),
                    vector=vector,
                    payload={"org_id": org_id, "document_id": document_id, "position": position, "text": text},
                )
                for position, (text, vector) in enumerate(chunks)
            ]
            await client.upsert(collection_name=COLLECTION, points=points, wait=True)
            return len(points)


        async def delete_document(client: AsyncQdrantClient, org_id: str, document_id: str) -> None:
            await client.delete(
                collection_name=COLLECTION,
                points_selector=FilterSelector(
                    filter=Filter(
                        must=[
                            FieldCondition(key="org_id", match=MatchValue(value=org_id)),
                            FieldCondition(key="document_id", match=MatchValue(value=document_id)),
                        ]
                    )
                ),
            )
        ''', pkg=s.package)


def qdrant_search_py(s: PyService) -> str:
    return block('''
        """Vector search over the knowledge collection, always filtered to one organisation."""

        from __future__ import annotations

        from collections.abc import Sequence
        from dataclasses import dataclass
        from typing import Any

        from qdrant_client import AsyncQdrantClient
        from qdrant_client.models import FieldCondition, Filter, MatchAny, MatchValue

        COLLECTION = "knowledge"


        @dataclass(frozen=True)
        class Passage:
            document_id: str
            position: int
            text: str
            score: float


        def _to_passage(point: Any) -> Passage:
            payload = point.payload or {}
            return Passage(
                document_id=str(payload.get("document_id", "")),
                position=int(payload.get("position", 0)),
                text=str(payload.get("text", "")),
                score=float(point.score),
            )


        async def search_passages(
            client: AsyncQdrantClient, org_id: str, vector: list[float], *, limit: int = 10
        ) -> list[Passage]:
            response = await client.query_points(
                collection_name=COLLECTION,
                query=vector,
                query_filter=Filter(must=[FieldCondition(key="org_id", match=MatchValue(value=org_id))]),
                limit=limit,
                with_payload=True,
            )
            return [_to_passage(point) for point in response.points]


        async def search_in_documents(
            client: AsyncQdrantClient,
            org_id: str,
            vector: list[float],
            document_ids: Sequence[str],
            *,
            limit: int = 10,
        ) -> list[Passage]:
            response = await client.query_points(
                collection_name=COLLECTION,
                query=vector,
                query_filter=Filter(
                    must=[
                        FieldCondition(key="org_id", match=MatchValue(value=org_id)),
                        FieldCondition(key="document_id", match=MatchAny(any=list(document_ids))),
                    ]
                ),
                limit=limit,
                with_payload=True,
            )
            return [_to_passage(point) for point in response.points]


        async def count_passages(client: AsyncQdrantClient, org_id: str) -> int:
            result = await client.count(
                collection_name=COLLECTION,
                count_filter=Filter(must=[FieldCondition(key="org_id", match=MatchValue(value=org_id))]),
                exact=False,
            )
            return result.count
        ''')


def related_py(corpus: Corpus, path: str) -> str:
    corpus.plant(path, 'client.search(collection_name="knowledge"', "TL007 Qdrant search without tenant filter")
    return block('''
        """'More like this' suggestions shown under an answer."""

        from __future__ import annotations

        from qdrant_client import AsyncQdrantClient

        from app.search.qdrant_search import Passage, _to_passage

        MIN_SCORE = 0.35


        async def related_passages(client: AsyncQdrantClient, vector: list[float]) -> list[Passage]:
            hits = await client.search(collection_name="knowledge", query_vector=vector, limit=5)
            return [_to_passage(hit) for hit in hits if hit.score >= MIN_SCORE]


        def dedupe_by_document(passages: list[Passage]) -> list[Passage]:
            best: dict[str, Passage] = {}
            for passage in passages:
                current = best.get(passage.document_id)
                if current is None or passage.score > current.score:
                    best[passage.document_id] = passage
            return sorted(best.values(), key=lambda p: p.score, reverse=True)
        ''')


def tokens_py(corpus: Corpus, path: str) -> str:
    corpus.plant(path, 'options={"verify_signature": False}', "TL017 jwt.decode without signature verification")
    return block('''
        """Helpers around access tokens issued by the identity provider."""

        from __future__ import annotations

        from typing import Any

        import jwt

        from app.config import settings


        def verify(raw: str) -> dict[str, Any]:
            return jwt.decode(
                raw,
                settings.jwt_public_key,
                algorithms=["RS256"],
                audience=settings.jwt_audience,
                issuer=settings.jwt_issuer,
            )


        def shard_for(raw: str, shard_count: int = 16) -> int:
            """Pick the search shard before the request reaches the verifying middleware."""
            key = settings.jwt_public_key
            claims = jwt.decode(raw, key, options={"verify_signature": False})
            return hash(str(claims.get("org_id", ""))) % shard_count
        ''')


def alembic_env_py(s: PyService) -> str:
    return block('''
        """Alembic environment: runs migrations online with the async engine."""

        from __future__ import annotations

        import asyncio
        from logging.config import fileConfig

        from alembic import context
        from sqlalchemy.engine import Connection
        from sqlalchemy.ext.asyncio import async_engine_from_config

        from app.config import settings
        from app.models import Base

        config = context.config
        config.set_main_option("sqlalchemy.url", settings.database_url)
        if config.config_file_name is not None:
            fileConfig(config.config_file_name)

        target_metadata = Base.metadata


        def run_migrations_offline() -> None:
            context.configure(url=settings.database_url, target_metadata=target_metadata, literal_binds=True)
            with context.begin_transaction():
                context.run_migrations()


        def do_run_migrations(connection: Connection) -> None:
            context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
            with context.begin_transaction():
                context.run_migrations()


        async def run_migrations_online() -> None:
            connectable = async_engine_from_config(config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.")
            async with connectable.connect() as connection:
                await connection.run_sync(do_run_migrations)
            await connectable.dispose()


        if context.is_offline_mode():
            run_migrations_offline()
        else:
            asyncio.run(run_migrations_online())
        ''')


ALEMBIC_INI = block('''
    [alembic]
    script_location = alembic
    prepend_sys_path = .
    file_template = %%(rev)s_%%(slug)s

    [loggers]
    keys = root,sqlalchemy,alembic

    [handlers]
    keys = console

    [formatters]
    keys = generic

    [logger_root]
    level = WARN
    handlers = console

    [logger_sqlalchemy]
    level = WARN
    handlers =
    qualname = sqlalchemy.engine

    [logger_alembic]
    level = INFO
    handlers =
    qualname = alembic

    [handler_console]
    class = StreamHandler
    args = (sys.stderr,)
    level = NOTSET
    formatter = generic

    [formatter_generic]
    format = %%(levelname)-5.5s [%%(name)s] %%(message)s
    ''')

MODELS_BASE_PY = block('''
    """Declarative base shared by every model."""

    from __future__ import annotations

    from sqlalchemy import MetaData
    from sqlalchemy.orm import DeclarativeBase

    NAMING_CONVENTION = {
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }


    class Base(DeclarativeBase):
        metadata = MetaData(naming_convention=NAMING_CONVENTION)
    ''')


def py_dockerfile(s: PyService, module: str) -> str:
    return block('''
        FROM python:3.11-slim AS runtime

        ENV PYTHONDONTWRITEBYTECODE=1 \\
            PYTHONUNBUFFERED=1 \\
            PIP_NO_CACHE_DIR=1

        WORKDIR /srv/@@name@@
        RUN apt-get update \\
            && apt-get install -y --no-install-recommends libpq5 curl \\
            && rm -rf /var/lib/apt/lists/*

        COPY pyproject.toml ./
        RUN pip install --upgrade pip && pip install .

        COPY . .
        RUN chmod +x entrypoint.sh && useradd --create-home --uid 10001 service
        USER service

        EXPOSE 8000
        HEALTHCHECK --interval=30s --timeout=3s CMD curl -fsS http://localhost:8000/healthz || exit 1
        ENTRYPOINT ["./entrypoint.sh"]
        CMD ["@@module@@"]
        ''', name=s.name, module=module)


def py_entrypoint(s: PyService, module: str) -> str:
    migrate = "echo \"applying migrations\"\nalembic upgrade head\n" if s.has_alembic else ""
    run = (f'exec uvicorn "${{1:-{module}}}" --host 0.0.0.0 --port "${{PORT:-8000}}" --proxy-headers'
           if s.package == "app" else f'exec python -m {s.package}.main "$@"')
    return block('''
        #!/usr/bin/env sh
        set -eu

        @@migrate@@
        @@run@@
        ''', migrate=migrate, run=run)


def pyproject(name: str, deps: list[str]) -> str:
    dep_lines = "\n".join(f'    "{d}",' for d in deps)
    return block('''
        [project]
        name = "@@name@@"
        version = "0.1.0"
        requires-python = ">=3.11"
        dependencies = [
        @@deps@@
        ]

        [project.optional-dependencies]
        dev = ["pytest>=8", "pytest-asyncio>=0.23", "httpx>=0.27"]

        [tool.pytest.ini_options]
        asyncio_mode = "auto"
        testpaths = ["tests"]

        [tool.ruff]
        line-length = 120
        target-version = "py311"
        ''', name=name, deps=dep_lines)


# --------------------------------------------------------------------------
# Rust: ordinary code
# --------------------------------------------------------------------------


@dataclass
class RSnip:
    code: str
    uses: tuple[str, ...] = ()
    test: str = ""  # one or more #[test] functions


def rs_window(rng: random.Random, nm: Names, noun: str) -> RSnip:
    cls = nm.take(camel(noun) + "Window")
    code = block('''
        /// A half-open time window `[start, end)` that counts the events falling inside it.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct @@cls@@ {
            pub start: i64,
            pub end: i64,
            pub count: u64,
        }

        impl @@cls@@ {
            pub fn new(start: i64, end: i64) -> Self {
                assert!(end > start, "window must not be empty");
                Self { start, end, count: 0 }
            }

            pub fn contains(&self, ts: i64) -> bool {
                ts >= self.start && ts < self.end
            }

            pub fn width(&self) -> i64 {
                self.end - self.start
            }

            pub fn record(&mut self, ts: i64) -> bool {
                if self.contains(ts) {
                    self.count += 1;
                    true
                } else {
                    false
                }
            }
        }

        impl fmt::Display for @@cls@@ {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "[{}, {}) x{}", self.start, self.end, self.count)
            }
        }
        ''', cls=cls)
    test = block('''
        #[test]
        fn @@fn@@_counts_only_inside() {
            let mut w = @@cls@@::new(10, 20);
            assert!(w.record(10));
            assert!(!w.record(20));
            assert_eq!(w.count, 1);
            assert_eq!(w.to_string(), "[10, 20) x1");
        }
        ''', cls=cls, fn=noun)
    return RSnip(code, ("std::fmt",), test)


def rs_enum(rng: random.Random, nm: Names, noun: str) -> RSnip:
    states = rng.choice([["Queued", "Running", "Done", "Failed"], ["Draft", "Review", "Published"],
                         ["Pending", "Active", "Suspended", "Closed"], ["Low", "Normal", "High", "Urgent"]])
    cls = nm.take(camel(noun) + rng.choice(["State", "Level", "Phase"]))
    err = nm.take(f"Parse{cls}Error")
    variants = "\n".join(f"    {s}," for s in states)
    as_str = "\n".join(f'            {cls}::{s} => "{s.lower()}",' for s in states)
    parse = "\n".join(f'            "{s.lower()}" => Ok({cls}::{s}),' for s in states)
    code = block('''
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum @@cls@@ {
        @@variants@@
        }

        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct @@err@@(pub String);

        impl fmt::Display for @@err@@ {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "unknown @@human@@ value: {}", self.0)
            }
        }

        impl @@cls@@ {
            pub fn as_str(self) -> &'static str {
                match self {
        @@as_str@@
                }
            }
        }

        impl FromStr for @@cls@@ {
            type Err = @@err@@;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim().to_ascii_lowercase().as_str() {
        @@parse@@
                    other => Err(@@err@@(other.to_string())),
                }
            }
        }
        ''', cls=cls, err=err, variants=variants, as_str=as_str, parse=parse, human=words(noun))
    test = block('''
        #[test]
        fn @@fn@@_round_trips() {
            let parsed: @@cls@@ = " @@s@@ ".parse().unwrap();
            assert_eq!(parsed.as_str(), "@@lower@@");
            assert!("nope".parse::<@@cls@@>().is_err());
        }
        ''', fn=cls.lower(), cls=cls, s=states[0].upper(), lower=states[0].lower())
    return RSnip(code, ("std::fmt", "std::str::FromStr"), test)


def rs_duration(rng: random.Random, nm: Names, noun: str) -> RSnip:
    name = nm.take(rng.choice(["parse_duration", "parse_interval", "duration_from_str"]))
    code = block('''
        /// Parses `"90s"`, `"15m"`, `"2h"` or `"1d"`.
        pub fn @@name@@(text: &str) -> Result<Duration, String> {
            let text = text.trim();
            if text.len() < 2 {
                return Err(format!("bad duration: {text:?}"));
            }
            let (digits, unit) = text.split_at(text.len() - 1);
            let amount: u64 = digits.parse().map_err(|_| format!("bad duration: {text:?}"))?;
            let seconds = match unit {
                "s" => amount,
                "m" => amount * 60,
                "h" => amount * 3_600,
                "d" => amount * 86_400,
                _ => return Err(format!("bad duration unit in {text:?}")),
            };
            Ok(Duration::from_secs(seconds))
        }
        ''', name=name)
    test = block('''
        #[test]
        fn @@name@@_units() {
            assert_eq!(@@name@@("15m").unwrap(), Duration::from_secs(900));
            assert_eq!(@@name@@(" 2h ").unwrap(), Duration::from_secs(7_200));
            assert!(@@name@@("soon").is_err());
        }
        ''', name=name)
    return RSnip(code, ("std::time::Duration",), test)


def rs_percentile(rng: random.Random, nm: Names, noun: str) -> RSnip:
    name = nm.take(f"{noun}_percentile")
    code = block('''
        /// Linear-interpolated percentile of `values` (sorted in place); `None` when empty.
        pub fn @@name@@(values: &mut [f64], pct: f64) -> Option<f64> {
            if values.is_empty() || !(0.0..=100.0).contains(&pct) {
                return None;
            }
            values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
            let rank = (values.len() - 1) as f64 * pct / 100.0;
            let low = rank.floor() as usize;
            let high = rank.ceil() as usize;
            Some(values[low] + (values[high] - values[low]) * (rank - low as f64))
        }
        ''', name=name)
    test = block('''
        #[test]
        fn @@name@@_median() {
            let mut v = vec![4.0, 1.0, 3.0, 2.0];
            assert_eq!(@@name@@(&mut v, 50.0), Some(2.5));
            assert_eq!(@@name@@(&mut [], 50.0), None);
        }
        ''', name=name)
    return RSnip(code, (), test)


def rs_slug(rng: random.Random, nm: Names, noun: str) -> RSnip:
    name = nm.take(f"slugify_{noun}")
    code = block('''
        pub fn @@name@@(input: &str, max_len: usize) -> String {
            let mut slug = String::with_capacity(input.len());
            let mut dash = false;
            for ch in input.chars() {
                if ch.is_ascii_alphanumeric() {
                    slug.push(ch.to_ascii_lowercase());
                    dash = false;
                } else if !dash && !slug.is_empty() {
                    slug.push('-');
                    dash = true;
                }
            }
            let trimmed = slug.trim_end_matches('-');
            trimmed.chars().take(max_len).collect::<String>().trim_end_matches('-').to_string()
        }
        ''', name=name)
    test = block('''
        #[test]
        fn @@name@@_basic() {
            assert_eq!(@@name@@("Hello, World 2024!", 64), "hello-world-2024");
            assert_eq!(@@name@@("a b c", 3), "a-b");
        }
        ''', name=name)
    return RSnip(code, (), test)


def rs_group(rng: random.Random, nm: Names, noun: str) -> RSnip:
    name = nm.take(f"count_{plural(noun)}_by_key")
    code = block('''
        /// Counts items per key, returning the keys in descending count order.
        pub fn @@name@@<'a, I>(keys: I) -> Vec<(&'a str, usize)>
        where
            I: IntoIterator<Item = &'a str>,
        {
            let mut counts: HashMap<&'a str, usize> = HashMap::new();
            for key in keys {
                *counts.entry(key).or_insert(0) += 1;
            }
            let mut ordered: Vec<(&'a str, usize)> = counts.into_iter().collect();
            ordered.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
            ordered
        }
        ''', name=name)
    test = block('''
        #[test]
        fn @@name@@_orders_by_count() {
            let got = @@name@@(["b", "a", "b"]);
            assert_eq!(got, vec![("b", 2), ("a", 1)]);
        }
        ''', name=name)
    return RSnip(code, ("std::collections::HashMap",), test)


def rs_backoff(rng: random.Random, nm: Names, noun: str) -> RSnip:
    cls = nm.take(rng.choice(["Backoff", "RetrySchedule", "DelaySequence"]))
    code = block('''
        /// Exponential delays, capped, for at most `max_attempts` attempts.
        #[derive(Debug, Clone)]
        pub struct @@cls@@ {
            next: Duration,
            cap: Duration,
            remaining: u32,
        }

        impl @@cls@@ {
            pub fn new(initial: Duration, cap: Duration, max_attempts: u32) -> Self {
                Self { next: initial, cap, remaining: max_attempts }
            }
        }

        impl Iterator for @@cls@@ {
            type Item = Duration;

            fn next(&mut self) -> Option<Duration> {
                if self.remaining == 0 {
                    return None;
                }
                self.remaining -= 1;
                let current = self.next;
                self.next = (self.next * 2).min(self.cap);
                Some(current)
            }
        }
        ''', cls=cls)
    test = block('''
        #[test]
        fn @@fn@@_caps_delays() {
            let delays: Vec<_> = @@cls@@::new(Duration::from_millis(100), Duration::from_millis(300), 4).collect();
            assert_eq!(delays.len(), 4);
            assert_eq!(delays[3], Duration::from_millis(300));
        }
        ''', cls=cls, fn=cls.lower())
    return RSnip(code, ("std::time::Duration",), test)


def rs_builder(rng: random.Random, nm: Names, noun: str) -> RSnip:
    cls = nm.take(camel(noun) + "Query")
    b = cls + "Builder"
    code = block('''
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct @@cls@@ {
            pub text: Option<String>,
            pub limit: usize,
            pub offset: usize,
            pub include_archived: bool,
        }

        #[derive(Debug, Default)]
        pub struct @@b@@ {
            inner: @@cls@@,
        }

        impl @@b@@ {
            pub fn new() -> Self {
                Self { inner: @@cls@@ { limit: @@limit@@, ..Default::default() } }
            }

            pub fn text(mut self, text: impl Into<String>) -> Self {
                let text = text.into();
                self.inner.text = if text.trim().is_empty() { None } else { Some(text) };
                self
            }

            pub fn page(mut self, limit: usize, offset: usize) -> Self {
                self.inner.limit = limit.clamp(1, 500);
                self.inner.offset = offset;
                self
            }

            pub fn include_archived(mut self, yes: bool) -> Self {
                self.inner.include_archived = yes;
                self
            }

            pub fn build(self) -> @@cls@@ {
                self.inner
            }
        }
        ''', cls=cls, b=b, limit=rng.choice([20, 25, 50]))
    test = block('''
        #[test]
        fn @@fn@@_builder_clamps() {
            let q = @@b@@::new().text("  ").page(10_000, 5).build();
            assert_eq!(q.text, None);
            assert_eq!(q.limit, 500);
        }
        ''', b=b, fn=cls.lower())
    return RSnip(code, (), test)


def rs_moving(rng: random.Random, nm: Names, noun: str) -> RSnip:
    cls = nm.take(camel(noun) + "MovingAverage")
    code = block('''
        /// Mean of the last `capacity` samples.
        #[derive(Debug)]
        pub struct @@cls@@ {
            samples: VecDeque<f64>,
            capacity: usize,
            sum: f64,
        }

        impl @@cls@@ {
            pub fn new(capacity: usize) -> Self {
                Self { samples: VecDeque::with_capacity(capacity), capacity: capacity.max(1), sum: 0.0 }
            }

            pub fn push(&mut self, value: f64) -> f64 {
                if self.samples.len() == self.capacity {
                    if let Some(old) = self.samples.pop_front() {
                        self.sum -= old;
                    }
                }
                self.samples.push_back(value);
                self.sum += value;
                self.mean()
            }

            pub fn mean(&self) -> f64 {
                if self.samples.is_empty() {
                    0.0
                } else {
                    self.sum / self.samples.len() as f64
                }
            }
        }
        ''', cls=cls)
    test = block('''
        #[test]
        fn @@fn@@_window() {
            let mut avg = @@cls@@::new(2);
            avg.push(1.0);
            avg.push(3.0);
            assert_eq!(avg.push(5.0), 4.0);
        }
        ''', cls=cls, fn=cls.lower())
    return RSnip(code, ("std::collections::VecDeque",), test)


def rs_truncate(rng: random.Random, nm: Names, noun: str) -> RSnip:
    name = nm.take(rng.choice(["truncate_chars", "ellipsize", "clip_text"]))
    code = block('''
        /// Shortens `text` to at most `max` characters, ending with an ellipsis when cut.
        pub fn @@name@@(text: &str, max: usize) -> String {
            if text.chars().count() <= max {
                return text.to_string();
            }
            let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
            out.push('\u2026');
            out
        }
        ''', name=name)
    test = block('''
        #[test]
        fn @@name@@_keeps_char_boundaries() {
            assert_eq!(@@name@@("h\u00e9llo", 10), "h\u00e9llo");
            assert_eq!(@@name@@("h\u00e9llo", 3), "h\u00e9\u2026");
        }
        ''', name=name)
    return RSnip(code, (), test)


def rs_trait(rng: random.Random, nm: Names, noun: str) -> RSnip:
    tr = nm.take(camel(noun) + "Cost")
    a, b = nm.take(camel(noun) + "Read"), nm.take(camel(noun) + "Write")
    unit = rng.choice([1, 2, 3])
    code = block('''
        /// Billing weight of an operation, in credits.
        pub trait @@tr@@ {
            fn credits(&self) -> u64;

            fn is_free(&self) -> bool {
                self.credits() == 0
            }
        }

        #[derive(Debug, Clone, Copy)]
        pub struct @@a@@ {
            pub items: u64,
        }

        #[derive(Debug, Clone, Copy)]
        pub struct @@b@@ {
            pub bytes: u64,
        }

        impl @@tr@@ for @@a@@ {
            fn credits(&self) -> u64 {
                self.items.div_ceil(100) * @@unit@@
            }
        }

        impl @@tr@@ for @@b@@ {
            fn credits(&self) -> u64 {
                self.bytes.div_ceil(1024 * 1024)
            }
        }

        pub fn @@total@@(ops: &[&dyn @@tr@@]) -> u64 {
            ops.iter().map(|op| op.credits()).sum()
        }
        ''', tr=tr, a=a, b=b, unit=unit, total=nm.take(f"total_{noun}_credits"))
    return RSnip(code, (), "")


def rs_merge(rng: random.Random, nm: Names, noun: str) -> RSnip:
    name = nm.take(f"merge_sorted_{plural(noun)}")
    code = block('''
        /// Merges two ascending slices into one ascending vector, dropping duplicates.
        pub fn @@name@@<T: Ord + Clone>(left: &[T], right: &[T]) -> Vec<T> {
            let (mut i, mut j) = (0, 0);
            let mut out: Vec<T> = Vec::with_capacity(left.len() + right.len());
            while i < left.len() || j < right.len() {
                let next = match (left.get(i), right.get(j)) {
                    (Some(a), Some(b)) if a <= b => {
                        i += 1;
                        a
                    }
                    (Some(_), Some(b)) => {
                        j += 1;
                        b
                    }
                    (Some(a), None) => {
                        i += 1;
                        a
                    }
                    (None, Some(b)) => {
                        j += 1;
                        b
                    }
                    (None, None) => break,
                };
                if out.last() != Some(next) {
                    out.push(next.clone());
                }
            }
            out
        }
        ''', name=name)
    test = block('''
        #[test]
        fn @@name@@_dedupes() {
            assert_eq!(@@name@@(&[1, 3, 5], &[1, 2, 5, 8]), vec![1, 2, 3, 5, 8]);
        }
        ''', name=name)
    return RSnip(code, (), test)


RS_SNIPS = [rs_window, rs_enum, rs_duration, rs_percentile, rs_slug, rs_group, rs_backoff, rs_builder,
            rs_moving, rs_truncate, rs_trait, rs_merge]


def rs_module(doc: str, snips: list[RSnip]) -> str:
    uses = sorted({u for s in snips for u in s.uses})
    text = "".join(f"//! {line}".rstrip() + "\n" for line in doc.splitlines()) + "\n"
    if uses:
        text += "".join(f"use {u};\n" for u in uses) + "\n"
    text += "\n".join(s.code for s in snips)
    tests = [s.test for s in snips if s.test]
    if tests:
        text += "\n#[cfg(test)]\nmod tests {\n    use super::*;\n\n"
        text += "\n".join(indent(t.rstrip(), 4) + "\n" for t in tests)
        text += "}\n"
    return text


def rs_ordinary_module(rng: random.Random, noun: str, n: int, doc: str) -> str:
    nm = Names(rng)
    return rs_module(doc, [m(rng, nm, noun) for m in rng.sample(RS_SNIPS, min(n, len(RS_SNIPS)))])


# --------------------------------------------------------------------------
# Rust gateway: per-entity files
# --------------------------------------------------------------------------


def rs_field_type(f: Field) -> str:
    t = fmt_type(RS_TYPE, f)
    return f"Option<{t}>" if f.nullable else t


def rs_model(e: Entity) -> str:
    row = "\n".join(f"    pub {f.name}: {rs_field_type(f)}," for f in e.fields)
    writable = [f for f in e.fields if f.kind in ("str", "text", "int", "bool")]
    new_lines, patch_lines = [], []
    for f in writable:
        t = fmt_type(RS_TYPE, f)
        if f is e.display:
            new_lines.append(f"    pub {f.name}: {t},")
        elif f.nullable:
            new_lines.append(f"    #[serde(default)]\n    pub {f.name}: Option<{t}>,")
        else:
            new_lines.append(f"    #[serde(default)]\n    pub {f.name}: {t},")
        patch_lines.append(f"    pub {f.name}: Option<{t}>,")
    d = e.display
    return block('''
        //! Row and payload types for `@@table@@`.

        use chrono::{DateTime, Utc};
        use serde::{Deserialize, Serialize};
        use sqlx::FromRow;
        use uuid::Uuid;

        #[derive(Debug, Clone, Serialize, FromRow)]
        pub struct @@cls@@ {
            pub id: Uuid,
            pub @@tcol@@: Uuid,
        @@row@@
            pub created_at: DateTime<Utc>,
            pub updated_at: DateTime<Utc>,
        }

        #[derive(Debug, Clone, Deserialize)]
        pub struct New@@cls@@ {
        @@new@@
        }

        #[derive(Debug, Clone, Default, Deserialize)]
        pub struct @@cls@@Patch {
        @@patch@@
        }

        impl New@@cls@@ {
            pub fn validate(&self) -> Result<(), String> {
                let value = self.@@d@@.trim();
                if value.is_empty() {
                    return Err("@@d@@ must not be empty".to_string());
                }
                if value.chars().count() > @@len@@ {
                    return Err("@@d@@ is longer than @@len@@ characters".to_string());
                }
                Ok(())
            }
        }

        impl @@cls@@Patch {
            pub fn is_empty(&self) -> bool {
                @@empty@@
            }
        }
        ''', table=e.table, cls=e.cls, tcol=e.tenant_col, row=row, new="\n".join(new_lines),
                 patch="\n".join(patch_lines), d=d.name, len=d.length,
                 empty=" && ".join(f"self.{f.name}.is_none()" for f in writable))


def rs_db(e: Entity) -> str:
    t, tc = e.table, e.tenant_col
    cols = ", ".join(["id", tc] + [f.name for f in e.fields] + ["created_at", "updated_at"])
    writable = [f for f in e.fields if f.kind in ("str", "text", "int", "bool")]
    ins_cols = ", ".join([tc] + [f.name for f in writable])
    ins_params = ", ".join(f"${i}" for i in range(1, len(writable) + 2))
    ins_binds = "\n".join(f"    .bind(&new.{f.name})" for f in writable)
    sets = ", ".join(f"{f.name} = COALESCE(${i + 3}, {f.name})" for i, f in enumerate(writable))
    upd_binds = "\n".join(f"    .bind(&patch.{f.name})" for f in writable)
    return block('''
        //! Queries for `@@t@@`. Callers pass a transaction opened with `tenant::begin`,
        //! and every statement also filters on `@@tc@@` explicitly.

        use sqlx::{Postgres, Transaction};
        use uuid::Uuid;

        use crate::models::@@e@@::{@@cls@@, @@cls@@Patch, New@@cls@@};

        pub async fn list(
            tx: &mut Transaction<'_, Postgres>,
            @@tc@@: Uuid,
            limit: i64,
            offset: i64,
        ) -> sqlx::Result<Vec<@@cls@@>> {
            sqlx::query_as::<_, @@cls@@>(
                "SELECT @@cols@@ FROM @@t@@ WHERE @@tc@@ = $1 ORDER BY created_at DESC LIMIT $2 OFFSET $3",
            )
            .bind(@@tc@@)
            .bind(limit)
            .bind(offset)
            .fetch_all(&mut **tx)
            .await
        }

        pub async fn get(tx: &mut Transaction<'_, Postgres>, @@tc@@: Uuid, id: Uuid) -> sqlx::Result<Option<@@cls@@>> {
            sqlx::query_as::<_, @@cls@@>("SELECT @@cols@@ FROM @@t@@ WHERE @@tc@@ = $1 AND id = $2")
                .bind(@@tc@@)
                .bind(id)
                .fetch_optional(&mut **tx)
                .await
        }

        pub async fn count(tx: &mut Transaction<'_, Postgres>, @@tc@@: Uuid) -> sqlx::Result<i64> {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM @@t@@ WHERE @@tc@@ = $1")
                .bind(@@tc@@)
                .fetch_one(&mut **tx)
                .await
        }

        pub async fn insert(tx: &mut Transaction<'_, Postgres>, @@tc@@: Uuid, new: &New@@cls@@) -> sqlx::Result<@@cls@@> {
            sqlx::query_as::<_, @@cls@@>(
                "INSERT INTO @@t@@ (@@ins_cols@@) VALUES (@@ins_params@@) RETURNING @@cols@@",
            )
            .bind(@@tc@@)
        @@ins_binds@@
            .fetch_one(&mut **tx)
            .await
        }

        pub async fn update(
            tx: &mut Transaction<'_, Postgres>,
            @@tc@@: Uuid,
            id: Uuid,
            patch: &@@cls@@Patch,
        ) -> sqlx::Result<Option<@@cls@@>> {
            sqlx::query_as::<_, @@cls@@>(
                "UPDATE @@t@@ SET @@sets@@, updated_at = now() WHERE @@tc@@ = $1 AND id = $2 RETURNING @@cols@@",
            )
            .bind(@@tc@@)
            .bind(id)
        @@upd_binds@@
            .fetch_optional(&mut **tx)
            .await
        }

        pub async fn delete(tx: &mut Transaction<'_, Postgres>, @@tc@@: Uuid, id: Uuid) -> sqlx::Result<bool> {
            let result = sqlx::query("DELETE FROM @@t@@ WHERE @@tc@@ = $1 AND id = $2")
                .bind(@@tc@@)
                .bind(id)
                .execute(&mut **tx)
                .await?;
            Ok(result.rows_affected() > 0)
        }
        ''', t=t, tc=tc, e=e.name, cls=e.cls, cols=cols, ins_cols=ins_cols, ins_params=ins_params,
                 ins_binds=ins_binds, sets=sets, upd_binds=upd_binds)


def rs_route(e: Entity) -> str:
    return block('''
        //! HTTP handlers for @@human@@.

        use axum::{
            extract::{Path, Query, State},
            http::StatusCode,
            routing::{get, post},
            Json, Router,
        };
        use serde::{Deserialize, Serialize};
        use uuid::Uuid;

        use crate::auth::{authorize_owner, Claims};
        use crate::db::@@e@@ as store;
        use crate::error::ApiError;
        use crate::models::@@e@@::{@@cls@@, @@cls@@Patch, New@@cls@@};
        use crate::state::AppState;
        use crate::tenant;

        pub fn router() -> Router<AppState> {
            Router::new()
                .route("/@@url@@", get(list_@@pe@@).post(create_@@e@@))
                .route("/@@url@@/count", get(count_@@pe@@))
                .route("/@@url@@/:id", get(get_@@e@@).patch(update_@@e@@).delete(delete_@@e@@))
                .route("/@@url@@/:id/copy", post(copy_@@e@@))
        }

        #[derive(Debug, Deserialize)]
        pub struct ListParams {
            #[serde(default = "default_limit")]
            limit: i64,
            #[serde(default)]
            offset: i64,
        }

        fn default_limit() -> i64 {
            50
        }

        #[derive(Debug, Serialize)]
        pub struct CountBody {
            count: i64,
        }

        async fn list_@@pe@@(
            State(state): State<AppState>,
            claims: Claims,
            Query(params): Query<ListParams>,
        ) -> Result<Json<Vec<@@cls@@>>, ApiError> {
            let mut tx = tenant::begin(&state.pool, claims.org_id).await?;
            let rows = store::list(&mut tx, claims.org_id, params.limit.clamp(1, 200), params.offset.max(0)).await?;
            tx.commit().await?;
            Ok(Json(rows))
        }

        async fn count_@@pe@@(State(state): State<AppState>, claims: Claims) -> Result<Json<CountBody>, ApiError> {
            let mut tx = tenant::begin(&state.pool, claims.org_id).await?;
            let count = store::count(&mut tx, claims.org_id).await?;
            tx.commit().await?;
            Ok(Json(CountBody { count }))
        }

        async fn create_@@e@@(
            State(state): State<AppState>,
            claims: Claims,
            Json(payload): Json<New@@cls@@>,
        ) -> Result<(StatusCode, Json<@@cls@@>), ApiError> {
            payload.validate().map_err(ApiError::BadRequest)?;
            let mut tx = tenant::begin(&state.pool, claims.org_id).await?;
            let row = store::insert(&mut tx, claims.org_id, &payload).await?;
            tx.commit().await?;
            Ok((StatusCode::CREATED, Json(row)))
        }

        async fn get_@@e@@(
            State(state): State<AppState>,
            claims: Claims,
            Path(id): Path<Uuid>,
        ) -> Result<Json<@@cls@@>, ApiError> {
            let mut tx = tenant::begin(&state.pool, claims.org_id).await?;
            let row = store::get(&mut tx, claims.org_id, id).await?.ok_or(ApiError::NotFound)?;
            authorize_owner(&claims, row.@@tc@@)?;
            tx.commit().await?;
            Ok(Json(row))
        }

        async fn update_@@e@@(
            State(state): State<AppState>,
            claims: Claims,
            Path(id): Path<Uuid>,
            Json(patch): Json<@@cls@@Patch>,
        ) -> Result<Json<@@cls@@>, ApiError> {
            if patch.is_empty() {
                return Err(ApiError::BadRequest("nothing to update".to_string()));
            }
            let mut tx = tenant::begin(&state.pool, claims.org_id).await?;
            let existing = store::get(&mut tx, claims.org_id, id).await?.ok_or(ApiError::NotFound)?;
            authorize_owner(&claims, existing.@@tc@@)?;
            let row = store::update(&mut tx, claims.org_id, id, &patch).await?.ok_or(ApiError::NotFound)?;
            tx.commit().await?;
            Ok(Json(row))
        }

        async fn delete_@@e@@(
            State(state): State<AppState>,
            claims: Claims,
            Path(id): Path<Uuid>,
        ) -> Result<StatusCode, ApiError> {
            let mut tx = tenant::begin(&state.pool, claims.org_id).await?;
            let existing = store::get(&mut tx, claims.org_id, id).await?.ok_or(ApiError::NotFound)?;
            authorize_owner(&claims, existing.@@tc@@)?;
            store::delete(&mut tx, claims.org_id, id).await?;
            tx.commit().await?;
            Ok(StatusCode::NO_CONTENT)
        }

        async fn copy_@@e@@(
            State(state): State<AppState>,
            claims: Claims,
            Path(id): Path<Uuid>,
        ) -> Result<(StatusCode, Json<@@cls@@>), ApiError> {
            let mut tx = tenant::begin(&state.pool, claims.org_id).await?;
            let source = store::get(&mut tx, claims.org_id, id).await?.ok_or(ApiError::NotFound)?;
            authorize_owner(&claims, source.@@tc@@)?;
            let copy = New@@cls@@ {
        @@copy_fields@@
            };
            let row = store::insert(&mut tx, claims.org_id, &copy).await?;
            tx.commit().await?;
            Ok((StatusCode::CREATED, Json(row)))
        }
        ''', human=plural(e.human), e=e.name, pe=plural(e.name), cls=e.cls, url=e.url, tc=e.tenant_col,
                 copy_fields="\n".join(
                     f"        {f.name}: {copy_expr(e, f)},"
                     for f in e.fields if f.kind in ("str", "text", "int", "bool")))


def copy_expr(e: Entity, f: Field) -> str:
    if f is e.display:
        return f'format!("{{}} (copy)", source.{f.name})'
    if f.kind in ("str", "text"):
        return f"source.{f.name}.clone()"
    return f"source.{f.name}"


# --------------------------------------------------------------------------
# SQL
# --------------------------------------------------------------------------


def sql_create_table(e: Entity, *, force: bool = True, trigger: bool = True, grant_role: str = "") -> str:
    cols = [
        "    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),",
        f"    {e.tenant_col} uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,",
    ]
    for f in e.fields:
        line = f"    {f.name} {fmt_type(SQL_TYPE, f)}"
        if not f.nullable:
            line += " NOT NULL"
            if f.kind in SQL_DEFAULT:
                line += f" DEFAULT {SQL_DEFAULT[f.kind]}"
            elif f.name == "status":
                line += " DEFAULT 'active'"
        if f.name == "owner_id":
            line += " REFERENCES users (id) ON DELETE SET NULL"
        cols.append(line + ",")
    cols += ["    created_at timestamptz NOT NULL DEFAULT now(),",
             "    updated_at timestamptz NOT NULL DEFAULT now()"]
    pred = f"{e.tenant_col} = current_setting('{e.setting}')::uuid"
    if e.split_policies:
        policies = block('''
            CREATE POLICY tenant_isolation_select ON @@t@@
                FOR SELECT
                USING (@@pred@@);

            CREATE POLICY tenant_isolation_insert ON @@t@@
                FOR INSERT
                WITH CHECK (@@pred@@);

            CREATE POLICY tenant_isolation_update ON @@t@@
                FOR UPDATE
                USING (@@pred@@)
                WITH CHECK (@@pred@@);

            CREATE POLICY tenant_isolation_delete ON @@t@@
                FOR DELETE
                USING (@@pred@@);
            ''', t=e.table, pred=pred)
    else:
        policies = block('''
            CREATE POLICY tenant_isolation ON @@t@@
                USING (@@pred@@)
                WITH CHECK (@@pred@@);
            ''', t=e.table, pred=pred)
    text = block('''
        CREATE TABLE IF NOT EXISTS @@t@@ (
        @@cols@@
        );

        CREATE INDEX IF NOT EXISTS ix_@@t@@_@@tc@@_created_at ON @@t@@ (@@tc@@, created_at DESC);

        ALTER TABLE @@t@@ ENABLE ROW LEVEL SECURITY;
        ''', t=e.table, cols="\n".join(cols), tc=e.tenant_col)
    if force:
        text += f"ALTER TABLE {e.table} FORCE ROW LEVEL SECURITY;\n"
    text += "\n" + policies
    if trigger:
        text += block('''

            CREATE TRIGGER trg_@@t@@_touch_updated_at
                BEFORE UPDATE ON @@t@@
                FOR EACH ROW
                EXECUTE FUNCTION touch_updated_at();
            ''', t=e.table)
    if grant_role:
        text += f"\nGRANT SELECT, INSERT, UPDATE, DELETE ON {e.table} TO {grant_role};\n"
    return text


# --------------------------------------------------------------------------
# Rust services: the files every service has once
# --------------------------------------------------------------------------

GATEWAY_CARGO = block('''
    [package]
    name = "gateway"
    version = "0.1.0"
    edition = "2021"
    publish = false

    [dependencies]
    axum = { version = "0.7", features = ["macros"] }
    chrono = { version = "0.4", features = ["serde"] }
    envy = "0.4"
    jsonwebtoken = "9"
    redis = { version = "0.25", features = ["tokio-comp", "connection-manager"] }
    serde = { version = "1", features = ["derive"] }
    serde_json = "1"
    sqlx = { version = "0.8", features = ["runtime-tokio", "postgres", "uuid", "chrono", "json"] }
    thiserror = "1"
    tokio = { version = "1", features = ["macros", "rt-multi-thread", "signal"] }
    tower-http = { version = "0.5", features = ["trace", "timeout"] }
    tracing = "0.1"
    tracing-subscriber = { version = "0.3", features = ["env-filter"] }
    uuid = { version = "1", features = ["serde", "v4"] }
    ''')

GATEWAY_CONFIG_RS = block('''
    //! Gateway configuration, read from `GATEWAY_*` environment variables.

    use serde::Deserialize;

    #[derive(Debug, thiserror::Error)]
    pub enum ConfigError {
        #[error("could not read configuration: {0}")]
        Env(#[from] envy::Error),
        #[error("GATEWAY_{0} must be set to a non-empty value")]
        Missing(&'static str),
    }

    #[derive(Debug, Clone, Deserialize)]
    pub struct Config {
        pub database_url: String,
        pub redis_url: String,
        #[serde(default = "default_bind_addr")]
        pub bind_addr: String,
        #[serde(default = "default_pool_size")]
        pub pool_size: u32,
        pub jwt_issuer: String,
        pub jwt_audience: String,
        pub jwt_public_key_pem: String,
        pub internal_secret: String,
        pub export_token: String,
    }

    fn default_bind_addr() -> String {
        "0.0.0.0:8080".to_string()
    }

    fn default_pool_size() -> u32 {
        16
    }

    impl Config {
        pub fn from_env() -> Result<Self, ConfigError> {
            let config: Config = envy::prefixed("GATEWAY_").from_env()?;
            config.validate()?;
            Ok(config)
        }

        pub fn validate(&self) -> Result<(), ConfigError> {
            let required = [
                ("JWT_PUBLIC_KEY_PEM", &self.jwt_public_key_pem),
                ("INTERNAL_SECRET", &self.internal_secret),
                ("EXPORT_TOKEN", &self.export_token),
            ];
            for (name, value) in required {
                if value.trim().is_empty() {
                    return Err(ConfigError::Missing(name));
                }
            }
            Ok(())
        }
    }
    ''')

GATEWAY_STATE_RS = block('''
    //! Shared application state handed to every handler.

    use std::sync::Arc;

    use redis::aio::ConnectionManager;
    use sqlx::PgPool;

    use crate::config::Config;

    #[derive(Clone)]
    pub struct AppState {
        pub pool: PgPool,
        pub redis: ConnectionManager,
        pub config: Arc<Config>,
    }
    ''')

GATEWAY_ERROR_RS = block('''
    //! One error type for handlers, rendered as JSON.

    use axum::{
        http::StatusCode,
        response::{IntoResponse, Response},
        Json,
    };
    use serde_json::json;

    #[derive(Debug, thiserror::Error)]
    pub enum ApiError {
        #[error("not found")]
        NotFound,
        #[error("unauthorized")]
        Unauthorized,
        #[error("forbidden")]
        Forbidden,
        #[error("{0}")]
        BadRequest(String),
        #[error("too many requests")]
        RateLimited,
        #[error("database error")]
        Database(#[from] sqlx::Error),
        #[error("cache error")]
        Cache(#[from] redis::RedisError),
        #[error("invalid credentials")]
        Jwt(#[from] jsonwebtoken::errors::Error),
    }

    impl IntoResponse for ApiError {
        fn into_response(self) -> Response {
            let status = match &self {
                ApiError::NotFound => StatusCode::NOT_FOUND,
                ApiError::Unauthorized | ApiError::Jwt(_) => StatusCode::UNAUTHORIZED,
                ApiError::Forbidden => StatusCode::FORBIDDEN,
                ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
                ApiError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
                ApiError::Database(_) | ApiError::Cache(_) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            if status.is_server_error() {
                tracing::error!(error = ?self, "request failed");
            }
            (status, Json(json!({ "detail": self.to_string() }))).into_response()
        }
    }
    ''')

GATEWAY_TENANT_RS = block('''
    //! Tenant-scoped transactions: every query runs with `app.current_org_id` set
    //! for the transaction only, so row level security applies and nothing leaks
    //! to the next user of the pooled connection.

    use sqlx::{PgPool, Postgres, Transaction};
    use uuid::Uuid;

    pub async fn begin(pool: &PgPool, org_id: Uuid) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        let mut tx = pool.begin().await?;
        sqlx::query("SELECT set_config('app.current_org_id', $1, true)")
            .bind(org_id.to_string())
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }
    ''')


def gateway_auth_rs(corpus: Corpus, path: str) -> str:
    corpus.plant(path, "validation.insecure_disable_signature_validation();",
                 "TL017 Rust jsonwebtoken signature validation disabled")
    return block('''
        //! Bearer authentication with RS256 access tokens.

        use axum::{
            async_trait,
            extract::FromRequestParts,
            http::{header::AUTHORIZATION, request::Parts},
        };
        use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
        use serde::Deserialize;
        use uuid::Uuid;

        use crate::config::Config;
        use crate::error::ApiError;
        use crate::state::AppState;

        #[derive(Debug, Clone, Deserialize)]
        pub struct Claims {
            pub sub: Uuid,
            pub org_id: Uuid,
            #[serde(default)]
            pub roles: Vec<String>,
            pub exp: usize,
        }

        pub fn decode_claims(raw: &str, config: &Config) -> Result<Claims, ApiError> {
            let mut validation = Validation::new(Algorithm::RS256);
            validation.set_audience(&[config.jwt_audience.as_str()]);
            validation.set_issuer(&[config.jwt_issuer.as_str()]);
            validation.set_required_spec_claims(&["exp", "sub", "aud", "iss"]);
            let key = DecodingKey::from_rsa_pem(config.jwt_public_key_pem.as_bytes())?;
            Ok(decode::<Claims>(raw, &key, &validation)?.claims)
        }

        /// Reads the org claim for log correlation before the request is authenticated.
        pub fn org_hint(raw: &str) -> Option<Uuid> {
            let mut validation = Validation::new(Algorithm::RS256);
            validation.insecure_disable_signature_validation();
            validation.validate_aud = false;
            let key = DecodingKey::from_secret(&[]);
            decode::<Claims>(raw, &key, &validation).ok().map(|data| data.claims.org_id)
        }

        /// Defence in depth on top of RLS: a loaded row must belong to the caller's org.
        pub fn authorize_owner(claims: &Claims, row_org_id: Uuid) -> Result<(), ApiError> {
            if claims.org_id == row_org_id {
                Ok(())
            } else {
                Err(ApiError::NotFound)
            }
        }

        #[async_trait]
        impl FromRequestParts<AppState> for Claims {
            type Rejection = ApiError;

            async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
                let header = parts
                    .headers
                    .get(AUTHORIZATION)
                    .and_then(|value| value.to_str().ok())
                    .ok_or(ApiError::Unauthorized)?;
                let bearer = header.strip_prefix("Bearer ").ok_or(ApiError::Unauthorized)?;
                decode_claims(bearer, &state.config)
            }
        }
        ''')


GATEWAY_CACHE_RS = block('''
    //! Redis helpers. Keys are `gw:{org_id}:{kind}:{id}` so one tenant's entries
    //! can be listed and flushed without touching another's.

    use redis::{aio::ConnectionManager, AsyncCommands};
    use uuid::Uuid;

    use crate::error::ApiError;

    pub async fn get_cached(conn: &mut ConnectionManager, org_id: Uuid, kind: &str, id: &str) -> Result<Option<String>, ApiError> {
        let value: Option<String> = conn.get(format!("gw:{org_id}:{kind}:{id}")).await?;
        Ok(value)
    }

    pub async fn put_cached(
        conn: &mut ConnectionManager,
        org_id: Uuid,
        kind: &str,
        id: &str,
        body: &str,
        ttl_seconds: u64,
    ) -> Result<(), ApiError> {
        let _: () = conn.set_ex(format!("gw:{org_id}:{kind}:{id}"), body, ttl_seconds).await?;
        Ok(())
    }

    pub async fn evict(conn: &mut ConnectionManager, org_id: Uuid, kind: &str, id: &str) -> Result<(), ApiError> {
        let _: () = conn.del(format!("gw:{org_id}:{kind}:{id}")).await?;
        Ok(())
    }

    /// Fixed-window rate limit per organisation and route group.
    pub async fn check_rate_limit(
        conn: &mut ConnectionManager,
        org_id: Uuid,
        group: &str,
        limit: u64,
        window_seconds: i64,
    ) -> Result<(), ApiError> {
        let key = format!("gw:{org_id}:ratelimit:{group}");
        let count: u64 = conn.incr(&key, 1).await?;
        if count == 1 {
            let _: () = conn.expire(&key, window_seconds).await?;
        }
        if count > limit {
            return Err(ApiError::RateLimited);
        }
        Ok(())
    }
    ''')


def gateway_main_rs(util_mods: list[str]) -> str:
    return block('''
        //! API gateway: authenticates requests and serves the tenant-scoped REST API.

        mod auth;
        mod cache;
        mod config;
        mod db;
        mod error;
        mod models;
        mod routes;
        mod state;
        mod tenant;
        mod util;

        use std::sync::Arc;
        use std::time::Duration;

        use axum::{routing::get, Router};
        use sqlx::postgres::PgPoolOptions;
        use tower_http::{timeout::TimeoutLayer, trace::TraceLayer};
        use tracing_subscriber::EnvFilter;

        use crate::config::Config;
        use crate::state::AppState;

        async fn healthz() -> &'static str {
            "ok"
        }

        #[tokio::main]
        async fn main() -> Result<(), Box<dyn std::error::Error>> {
            tracing_subscriber::fmt().with_env_filter(EnvFilter::from_default_env()).init();
            let config = Config::from_env()?;
            let pool = PgPoolOptions::new()
                .max_connections(config.pool_size)
                .acquire_timeout(Duration::from_secs(5))
                .connect(&config.database_url)
                .await?;
            let redis = redis::Client::open(config.redis_url.as_str())?.get_connection_manager().await?;
            let bind_addr = config.bind_addr.clone();
            let state = AppState { pool, redis, config: Arc::new(config) };

            let app = Router::new()
                .route("/healthz", get(healthz))
                .merge(routes::router())
                .layer(TimeoutLayer::new(Duration::from_secs(15)))
                .layer(TraceLayer::new_for_http())
                .with_state(state);

            let listener = tokio::net::TcpListener::bind(&bind_addr).await?;
            tracing::info!(%bind_addr, "gateway listening");
            axum::serve(listener, app).await?;
            Ok(())
        }
        ''')


def rust_dockerfile(binary: str, with_migrations: bool) -> str:
    sqlx = ("RUN cargo install sqlx-cli --no-default-features --features rustls,postgres --version 0.8.2\n"
            if with_migrations else "")
    copy_sqlx = ("COPY --from=build /usr/local/cargo/bin/sqlx /usr/local/bin/sqlx\n"
                 "COPY migrations /srv/migrations\n" if with_migrations else "")
    return block('''
        FROM rust:1.80-slim AS build
        WORKDIR /build
        @@sqlx@@COPY Cargo.toml Cargo.lock ./
        COPY src ./src
        RUN cargo build --release --locked

        FROM debian:bookworm-slim
        RUN apt-get update \\
            && apt-get install -y --no-install-recommends ca-certificates \\
            && rm -rf /var/lib/apt/lists/*
        @@copy_sqlx@@COPY --from=build /build/target/release/@@bin@@ /usr/local/bin/@@bin@@
        COPY entrypoint.sh /usr/local/bin/entrypoint.sh
        USER 10001
        ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]
        ''', sqlx=sqlx, copy_sqlx=copy_sqlx, bin=binary)


def rust_entrypoint(binary: str, with_migrations: bool) -> str:
    migrate = 'sqlx migrate run --source /srv/migrations --database-url "$DATABASE_URL"\n' if with_migrations else ""
    return block('''
        #!/usr/bin/env sh
        set -eu

        @@migrate@@exec @@bin@@ "$@"
        ''', migrate=migrate, bin=binary)


# --------------------------------------------------------------------------
# Platform SQL (top-level migrations/)
# --------------------------------------------------------------------------

SQL_ROLES = block('''
    -- Roles and extensions. The application roles never bypass row level security.
    CREATE EXTENSION IF NOT EXISTS pgcrypto;
    CREATE EXTENSION IF NOT EXISTS citext;

    DO $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'portal_app') THEN
            CREATE ROLE portal_app LOGIN NOBYPASSRLS;
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ingest_app') THEN
            CREATE ROLE ingest_app LOGIN NOBYPASSRLS;
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gateway_app') THEN
            CREATE ROLE gateway_app LOGIN NOBYPASSRLS;
        END IF;
    END
    $$;

    CREATE OR REPLACE FUNCTION touch_updated_at() RETURNS trigger
        LANGUAGE plpgsql
    AS $$
    BEGIN
        NEW.updated_at := now();
        RETURN NEW;
    END;
    $$;
    ''')

SQL_ORGS = block('''
    -- Organisations and users are global; membership rows are per organisation.
    CREATE TABLE IF NOT EXISTS organizations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        slug citext NOT NULL UNIQUE,
        display_name text NOT NULL,
        plan varchar(32) NOT NULL DEFAULT 'free',
        deleted_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE IF NOT EXISTS users (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        email citext NOT NULL UNIQUE,
        display_name text NOT NULL DEFAULT '',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE IF NOT EXISTS memberships (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        role varchar(32) NOT NULL DEFAULT 'member',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (org_id, user_id)
    );

    ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
    ALTER TABLE memberships FORCE ROW LEVEL SECURITY;

    CREATE POLICY tenant_isolation ON memberships
        USING (org_id = current_setting('app.current_org_id')::uuid)
        WITH CHECK (org_id = current_setting('app.current_org_id')::uuid);

    CREATE VIEW member_directory WITH (security_invoker = true) AS
        SELECT m.org_id, m.user_id, m.role, u.email, u.display_name
        FROM memberships m
        JOIN users u ON u.id = m.user_id;

    CREATE TRIGGER trg_organizations_touch_updated_at
        BEFORE UPDATE ON organizations
        FOR EACH ROW
        EXECUTE FUNCTION touch_updated_at();

    CREATE TRIGGER trg_memberships_touch_updated_at
        BEFORE UPDATE ON memberships
        FOR EACH ROW
        EXECUTE FUNCTION touch_updated_at();
    ''')

SQL_EVENTS = block('''
    -- Audit trail and inbound webhook log.
    CREATE TABLE IF NOT EXISTS audit_events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        actor_id uuid,
        action varchar(64) NOT NULL,
        target_type varchar(64) NOT NULL,
        target_id text NOT NULL,
        details jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE INDEX IF NOT EXISTS ix_audit_events_org_id_created_at ON audit_events (org_id, created_at DESC);

    ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
    ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;

    CREATE POLICY tenant_isolation_select ON audit_events
        FOR SELECT
        USING (org_id = current_setting('app.current_org_id')::uuid);

    CREATE POLICY tenant_isolation_insert ON audit_events
        FOR INSERT
        WITH CHECK (org_id = current_setting('app.current_org_id')::uuid);

    CREATE TABLE IF NOT EXISTS webhook_events (
        id uuid PRIMARY KEY,
        org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        provider varchar(32) NOT NULL,
        event_type varchar(64) NOT NULL,
        payload jsonb NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now()
    );

    ALTER TABLE webhook_events ENABLE ROW LEVEL SECURITY;
    ALTER TABLE webhook_events FORCE ROW LEVEL SECURITY;

    CREATE POLICY tenant_isolation ON webhook_events
        USING (org_id = current_setting('app.current_org_id')::uuid)
        WITH CHECK (org_id = current_setting('app.current_org_id')::uuid);

    GRANT SELECT, INSERT ON audit_events, webhook_events TO portal_app, ingest_app, gateway_app;
    ''')

SQL_USAGE = block('''
    -- Per-organisation usage counters, written by the metering job.
    CREATE TABLE IF NOT EXISTS usage_counters (
        org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        metric varchar(64) NOT NULL,
        period_start date NOT NULL,
        value bigint NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (org_id, metric, period_start)
    );

    ALTER TABLE usage_counters ENABLE ROW LEVEL SECURITY;

    CREATE POLICY tenant_isolation ON usage_counters
        USING (org_id = current_setting('app.current_org_id')::uuid)
        WITH CHECK (org_id = current_setting('app.current_org_id')::uuid);

    CREATE TABLE IF NOT EXISTS plans (
        code varchar(32) PRIMARY KEY,
        display_name text NOT NULL,
        monthly_credits bigint NOT NULL,
        seats integer NOT NULL
    );

    INSERT INTO plans (code, display_name, monthly_credits, seats) VALUES
        ('free', 'Free', 1000, 3),
        ('team', 'Team', 50000, 25),
        ('enterprise', 'Enterprise', 1000000, 1000)
    ON CONFLICT (code) DO NOTHING;
    ''')


def sql_lookup_table(rng: random.Random, noun: str) -> str:
    """A global reference table (no tenant column) with seed rows."""
    table = plural(noun) + "_catalog" if not noun.endswith("catalog") else plural(noun)
    values = rng.sample(["alpha", "beta", "gamma", "delta", "omega", "basic", "pro", "legacy", "default",
                         "internal", "partner", "trial"], 4)
    rows = ",\n".join(f"    ('{v}', '{v.capitalize()} {words(noun)}', {i * 10})" for i, v in enumerate(values))
    return block('''
        -- Global catalogue of @@human@@ kinds; identical for every organisation.
        CREATE TABLE IF NOT EXISTS @@t@@ (
            code varchar(32) PRIMARY KEY,
            display_name text NOT NULL,
            sort_order integer NOT NULL DEFAULT 0
        );

        INSERT INTO @@t@@ (code, display_name, sort_order) VALUES
        @@rows@@
        ON CONFLICT (code) DO UPDATE SET display_name = EXCLUDED.display_name;
        ''', t=table, human=words(noun), rows=rows)


# --------------------------------------------------------------------------
# Putting the tree together
# --------------------------------------------------------------------------

GITIGNORE = block('''
    __pycache__/
    *.pyc
    .venv/
    .env
    target/
    .pytest_cache/
    .ruff_cache/
    ''')


class Builder:
    """Adds files unit by unit until the requested size is reached."""

    # Share of the requested lines each kind of unit should end up with.
    SHARES = {
        ("py_entity", "portal-api"): 0.20,
        ("py_entity", "knowledge-ingest"): 0.14,
        ("py_ordinary", "portal-api"): 0.04,
        ("py_ordinary", "knowledge-ingest"): 0.05,
        ("py_ordinary", "retrieval-api"): 0.10,
        ("py_ordinary", "analytics-worker"): 0.11,
        ("py_ordinary", "py-common"): 0.06,
        ("rs_entity", "gateway"): 0.10,
        ("rs_ordinary", "gateway"): 0.04,
        ("rs_ordinary", "usage-meter"): 0.07,
        ("sql", "platform"): 0.03,
    }
    ORDINARY_DIRS = {
        "portal-api": ["utils", "domain"],
        "knowledge-ingest": ["parsing", "utils"],
        "retrieval-api": ["ranking", "text", "utils"],
        "analytics-worker": ["jobs", "reports", "transforms"],
    }

    def __init__(self, target: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.target = target
        self.c = Corpus()
        self.produced: dict[tuple[str, str], int] = {k: 0 for k in self.SHARES}
        self.entity_names = self._entity_names()
        self.day = 0
        self.sql_number = 5
        self.used_modules: dict[str, set[str]] = {}
        self.py = {
            "portal-api": PyService("portal-api", "PORTAL", secrets=("internal_secret", "billing_webhook_secret")),
            "knowledge-ingest": PyService(
                "knowledge-ingest", "INGEST",
                secrets=("internal_secret", "crawler_webhook_secret", "connector_webhook_secret",
                         "legacy_crawler_webhook_secret"),
                encryption_key=True),
            "retrieval-api": PyService("retrieval-api", "RETRIEVAL", has_db=False, has_alembic=False),
            "analytics-worker": PyService("analytics-worker", "ANALYTICS", has_alembic=False, package="worker"),
        }
        self.gateway_entities: list[Entity] = []
        self.rs_util: dict[str, list[str]] = {"gateway": [], "usage-meter": []}

    # -- naming -----------------------------------------------------------

    def _entity_names(self):
        combos = []
        for noun in NOUNS:
            for q in dict.fromkeys(QUALIFIERS):
                combos.append(f"{q}_{noun}" if q else noun)
        self.rng.shuffle(combos)
        # Plain nouns first: real schemas have `documents` before `archived_documents`.
        plain = [n for n in combos if n in NOUNS and n != "crawl"]
        rest = [n for n in combos if n not in NOUNS]
        ordered = plain + rest
        round_no = 1
        while True:
            for n in ordered:
                yield n if round_no == 1 else f"{n}_v{round_no}"
            round_no += 1

    def new_entity(self, name: str | None = None) -> Entity:
        name = name or next(self.entity_names)
        rng = self.rng
        display = rng.choice(DISPLAY_FIELDS)
        others = [f for f in rng.sample(FIELD_POOL, rng.randint(2, 7)) if f.name != display.name]
        return Entity(name, [display] + others, split_policies=rng.random() < 0.3)

    def module_name(self, directory: str, base: str) -> str:
        used = self.used_modules.setdefault(directory, set())
        name, i = base, 2
        while name in used:
            name = f"{base}_{i}"
            i += 1
        used.add(name)
        return name

    def next_date(self) -> str:
        self.day += self.rng.randint(1, 4)
        month, day = divmod(self.day, 28)
        year, month = divmod(month, 12)
        return (f"{2023 + year}-{month + 1:02d}-{day + 1:02d} "
                f"{self.rng.randint(8, 18):02d}:{self.rng.randint(0, 59):02d}:{self.rng.randint(0, 59):02d}")

    def rev(self) -> str:
        return f"{self.rng.getrandbits(48):012x}"

    # -- units ------------------------------------------------------------

    def add(self, path: str, text: str, unit: tuple[str, str] | None = None, **meta: object) -> None:
        n = self.c.add(path, text, **meta)
        if unit is not None:
            self.produced[unit] += n

    def py_entity(self, svc_name: str, entity: Entity | None = None) -> None:
        s = self.py[svc_name]
        e = entity or self.new_entity()
        s.entities.append(e)
        root = f"services/{svc_name}"
        unit = ("py_entity", svc_name)
        self.add(f"{root}/app/models/{e.name}.py", model_py(e), unit)
        self.add(f"{root}/app/schemas/{e.name}.py", schema_py(self.rng, e), unit)
        self.add(f"{root}/app/repositories/{e.name}_repository.py", repository_py(self.rng, e), unit,
                 kind="py_repo", entity=e, svc=svc_name)
        router_module = plural(e.name)
        s.routers.append(router_module)
        self.add(f"{root}/app/api/{router_module}.py", router_py(self.rng, e), unit,
                 kind="py_router", entity=e, svc=svc_name)
        service_text, snips = service_py(self.rng, e)
        self.add(f"{root}/app/services/{e.name}_service.py", service_text, unit,
                 kind="py_service", entity=e, svc=svc_name)
        test = py_test_module(f"app.services.{e.name}_service", snips, f"Tests for {plural(e.human)} business rules.")
        if test:
            self.add(f"{root}/tests/test_{e.name}_service.py", test, unit, kind="py_test", entity=e, svc=svc_name)
        rev = self.rev()
        down = s.revisions[-1] if s.revisions else None
        s.revisions.append(rev)
        self.add(f"{root}/alembic/versions/{rev}_create_{e.table}.py",
                 alembic_create_py(self.rng, e, rev, down, self.next_date()), unit)
        if self.rng.random() < 0.3:
            rev2 = self.rev()
            self.add(f"{root}/alembic/versions/{rev2}_index_{e.table}.py",
                     alembic_index_py(self.rng, e, rev2, rev, self.next_date()), unit)
            s.revisions.append(rev2)

    def py_ordinary(self, svc_name: str, n_snips: int | None = None, unit: tuple[str, str] | None = None) -> int:
        rng = self.rng
        unit = unit or ("py_ordinary", svc_name)
        noun = rng.choice(NOUNS)
        topic = rng.choice(TOPICS)
        if svc_name == "py-common":
            directory = "libs/py-common/src/py_common"
            test_dir = "libs/py-common/tests"
            module_base = "py_common"
        else:
            s = self.py[svc_name]
            sub_dir = rng.choice(self.ORDINARY_DIRS[svc_name])
            directory = f"services/{svc_name}/{s.package}/{sub_dir}"
            test_dir = f"services/{svc_name}/tests/{sub_dir}"
            module_base = f"{s.package}.{sub_dir}"
        name = self.module_name(directory, topic if rng.random() < 0.6 else f"{noun}_{topic}")
        doc = f"{words(topic).capitalize()} helpers for {words(plural(noun))}.\n\n{rng.choice(DOC_PHRASES)}\n"
        if n_snips is None:
            # Mostly mid-sized modules, with the odd large one as in any real code base.
            n_snips = rng.randint(14, 24) if rng.random() < 0.08 else rng.randint(4, 13)
        text, snips = py_ordinary_module(rng, noun, n_snips, doc)
        before = self.c.total
        self.add(f"{directory}/{name}.py", text, unit)
        if rng.random() < 0.75:
            test = py_test_module(f"{module_base}.{name}", snips, f"Tests for {module_base}.{name}.")
            if test:
                if svc_name != "py-common" and f"{test_dir}/__init__.py" not in self.c.files:
                    self.add(f"{test_dir}/__init__.py", "")  # test modules share basenames across dirs
                self.add(f"{test_dir}/test_{name}.py", test, unit)
        return self.c.total - before

    def rs_entity(self) -> None:
        e = self.new_entity()
        self.gateway_entities.append(e)
        root = "services/gateway"
        unit = ("rs_entity", "gateway")
        self.add(f"{root}/src/models/{e.name}.rs", rs_model(e), unit)
        self.add(f"{root}/src/db/{e.name}.rs", rs_db(e), unit, kind="rs_db", entity=e, svc="gateway")
        self.add(f"{root}/src/routes/{e.name}.rs", rs_route(e), unit, kind="rs_route", entity=e, svc="gateway")
        stamp = re.sub(r"\D", "", self.next_date())
        self.add(f"{root}/migrations/{stamp}_create_{e.table}.sql",
                 sql_create_table(e, grant_role="gateway_app"), unit)

    def rs_ordinary(self, svc_name: str) -> None:
        rng = self.rng
        noun = rng.choice(NOUNS)
        topic = rng.choice(TOPICS)
        directory = "services/gateway/src/util" if svc_name == "gateway" else "services/usage-meter/src"
        name = self.module_name(directory, topic)
        self.rs_util[svc_name].append(name)
        doc = f"{words(topic).capitalize()} for {words(plural(noun))}.\n\n{rng.choice(DOC_PHRASES)}"
        self.add(f"{directory}/{name}.rs", rs_ordinary_module(rng, noun, rng.randint(4, 12), doc),
                 ("rs_ordinary", svc_name))

    def sql_unit(self) -> None:
        """One platform migration: a few related tenant tables, sometimes a catalogue table."""
        unit = ("sql", "platform")
        parts, names = [], []
        for _ in range(self.rng.randint(2, 5)):
            if self.rng.random() < 0.8:
                e = self.new_entity()
                parts.append(f"-- {plural(e.human).capitalize()}, one row set per organisation.\n" + sql_create_table(
                    e, grant_role=self.rng.choice(["portal_app", "ingest_app", "gateway_app"])))
                names.append(e.table)
            else:
                noun = self.rng.choice(NOUNS)
                parts.append(sql_lookup_table(self.rng, noun))
                names.append(plural(noun) + "_catalog")
        name = self.module_name("migrations", names[0] if len(names) == 1 else f"{names[0]}_and_more")
        self.add(f"migrations/{self.sql_number:04d}_{name}.sql", "\n\n".join(parts), unit)
        self.sql_number += 1

    # -- fixed files ------------------------------------------------------

    def core(self) -> None:
        c = self.c
        for svc in self.py.values():
            root = f"services/{svc.name}"
            pkg = f"{root}/{svc.package}"
            module = f"{svc.package}.main:app"
            self.add(f"{root}/Dockerfile", py_dockerfile(svc, module))
            self.add(f"{root}/entrypoint.sh", py_entrypoint(svc, module))
            deps = ["fastapi>=0.111", "uvicorn[standard]>=0.30", "pydantic>=2.7", "pydantic-settings>=2.3",
                    "redis>=5", "PyJWT[crypto]>=2.8"]
            if svc.has_db:
                deps += ["SQLAlchemy[asyncio]>=2.0", "asyncpg>=0.29"]
            if svc.has_alembic:
                deps += ["alembic>=1.13"]
            if svc.name in ("knowledge-ingest", "retrieval-api"):
                deps += ["qdrant-client>=1.10", "httpx>=0.27"]
            self.add(f"{root}/pyproject.toml", pyproject(svc.name, deps))
            self.add(f"{pkg}/__init__.py", "")
            self.add(f"{pkg}/config.py", config_py(svc))
            if svc.has_db:
                self.add(f"{pkg}/db.py", db_py(svc))
            if svc.package == "app":
                self.add(f"{pkg}/api/__init__.py", "")
                self.add(f"{pkg}/api/deps.py", deps_py(svc))
                self.add(f"{pkg}/auth/__init__.py", "")
                self.add(f"{pkg}/auth/middleware.py", middleware_py(svc))
            self.add(f"{root}/tests/__init__.py", "")
            self.add(f"{root}/tests/conftest.py", block('''
                """Shared fixtures."""

                from __future__ import annotations

                import os

                os.environ.setdefault("@@p@@_JWT_PUBLIC_KEY", "test-public-key")
                @@secrets@@
                ''', p=svc.env_prefix, secrets="\n".join(
                    f'os.environ.setdefault("{svc.env_prefix}_{n.upper()}", "test-value-{i}")'
                    for i, n in enumerate(svc.secrets))))
            if svc.has_alembic:
                self.add(f"{root}/alembic.ini", ALEMBIC_INI)
                self.add(f"{root}/alembic/env.py", alembic_env_py(svc))
                self.add(f"{pkg}/models/base.py", MODELS_BASE_PY)
                for d in ("schemas", "repositories", "services"):
                    self.add(f"{pkg}/{d}/__init__.py", "")

        portal, ingest, retrieval = self.py["portal-api"], self.py["knowledge-ingest"], self.py["retrieval-api"]
        p = "services/portal-api/app/cache.py"
        self.add(p, cache_py(portal, c, p, plant_export_key=True))
        self.add("services/portal-api/app/webhooks/__init__.py", "")
        self.add("services/portal-api/app/webhooks/replay.py", replay_py(portal))
        self.add("services/portal-api/app/webhooks/billing.py", webhook_py(portal, "billing", "billing_webhook_secret"))

        self.add("services/knowledge-ingest/app/cache.py", cache_py(ingest, c, "", plant_export_key=False))
        self.add("services/knowledge-ingest/app/webhooks/__init__.py", "")
        self.add("services/knowledge-ingest/app/webhooks/replay.py", replay_py(ingest))
        self.add("services/knowledge-ingest/app/webhooks/crawler.py",
                 webhook_py(ingest, "crawler", "crawler_webhook_secret"))
        self.add("services/knowledge-ingest/app/webhooks/connector.py",
                 webhook_py(ingest, "connector", "connector_webhook_secret"))
        p = "services/knowledge-ingest/app/webhooks/legacy_crawler.py"
        self.add(p, legacy_webhook_py(ingest, c, p))
        self.add("services/knowledge-ingest/app/vectors.py", qdrant_writer_py(ingest))
        self.py_entity("knowledge-ingest", self.new_entity("crawl"))

        self.add("services/retrieval-api/app/cache.py", cache_py(retrieval, c, "", plant_export_key=False))
        self.add("services/retrieval-api/app/search/__init__.py", "")
        self.add("services/retrieval-api/app/search/qdrant_search.py", qdrant_search_py(retrieval))
        p = "services/retrieval-api/app/search/related.py"
        self.add(p, related_py(c, p))
        p = "services/retrieval-api/app/auth/tokens.py"
        self.add(p, tokens_py(c, p))
        self.add("services/retrieval-api/app/embeddings.py", RETRIEVAL_EMBEDDINGS)
        self.add("services/retrieval-api/app/api/search.py", RETRIEVAL_SEARCH_API)
        self.py["retrieval-api"].routers.append("search")
        self.add("services/analytics-worker/worker/jobs/nightly_rollup.py", NIGHTLY_ROLLUP)

        g = "services/gateway"
        self.add(f"{g}/Cargo.toml", GATEWAY_CARGO)
        self.add(f"{g}/Dockerfile", rust_dockerfile("gateway", True))
        self.add(f"{g}/entrypoint.sh", rust_entrypoint("gateway", True))
        self.add(f"{g}/src/config.rs", GATEWAY_CONFIG_RS)
        self.add(f"{g}/src/state.rs", GATEWAY_STATE_RS)
        self.add(f"{g}/src/error.rs", GATEWAY_ERROR_RS)
        self.add(f"{g}/src/tenant.rs", GATEWAY_TENANT_RS)
        self.add(f"{g}/src/cache.rs", GATEWAY_CACHE_RS)
        p = f"{g}/src/auth.rs"
        self.add(p, gateway_auth_rs(c, p))
        u = "services/usage-meter"
        self.add(f"{u}/Cargo.toml", USAGE_METER_CARGO)
        self.add(f"{u}/Dockerfile", rust_dockerfile("usage-meter", False))
        self.add(f"{u}/entrypoint.sh", rust_entrypoint("usage-meter", False))

        self.add("migrations/0001_roles_and_extensions.sql", SQL_ROLES)
        self.add("migrations/0002_organizations.sql", SQL_ORGS)
        self.add("migrations/0003_audit_and_webhooks.sql", SQL_EVENTS)
        p = "migrations/0004_usage_counters.sql"
        self.add(p, SQL_USAGE)
        c.plant(p, "ALTER TABLE usage_counters ENABLE ROW LEVEL SECURITY;",
                "TL001 RLS enabled but not forced on usage_counters")

        self.add(".gitignore", GITIGNORE)
        self.add("README.md", README_MD)
        self.add("docker-compose.yml", COMPOSE_YML)
        self.add("scripts/apply-platform-migrations.sh", APPLY_MIGRATIONS_SH)

    def index_files(self) -> None:
        """Files that list the others: app entry points, model registries, Rust mod trees."""
        for svc in self.py.values():
            if svc.package != "app":
                continue
            root = f"services/{svc.name}/app"
            webhooks = sorted(p.rsplit("/", 1)[1][:-3] for p in self.c.files
                              if p.startswith(f"{root}/webhooks/") and not p.endswith(("__init__.py", "replay.py")))
            imports = [f"from app.api import {m}" for m in svc.routers]
            imports += [f"from app.webhooks import {m}" for m in webhooks]
            modules = svc.routers + webhooks
            self.add(f"{root}/main.py", block('''
                """ASGI application for @@name@@."""

                from __future__ import annotations

                from fastapi import FastAPI

                @@imports@@
                from app.auth.middleware import AuthMiddleware

                app = FastAPI(title="@@name@@", version="1.0.0")
                app.add_middleware(AuthMiddleware)

                ROUTERS = (
                @@modules@@
                )
                for module in ROUTERS:
                    app.include_router(module.router)


                @app.get("/healthz")
                async def healthz() -> dict[str, str]:
                    return {"status": "ok"}
                ''', name=svc.name, imports="\n".join(sorted(imports)),
                modules="\n".join(f"    {m}," for m in modules)))
            if svc.has_alembic:
                lines = ["from app.models.base import Base"] + [
                    f"from app.models.{e.name} import {e.cls}" for e in svc.entities]
                names = ["Base"] + [e.cls for e in svc.entities]
                self.add(f"{root}/models/__init__.py", '"""Every model, imported so that metadata is complete."""\n\n'
                         + "\n".join(lines) + "\n\n__all__ = [\n" + "".join(f'    "{n}",\n' for n in names) + "]\n")
        self.add("services/analytics-worker/worker/main.py", ANALYTICS_MAIN)

        g = "services/gateway/src"
        self.add(f"{g}/main.rs", gateway_main_rs(self.rs_util["gateway"]))
        ents = self.gateway_entities
        self.add(f"{g}/models/mod.rs", "//! Row and payload types, one module per table.\n\n"
                 + "".join(f"pub mod {e.name};\n" for e in ents))
        self.add(f"{g}/db/mod.rs", "//! Queries, one module per table.\n\n"
                 + "".join(f"pub mod {e.name};\n" for e in ents))
        self.add(f"{g}/routes/mod.rs", "//! The route table.\n\nuse axum::Router;\n\nuse crate::state::AppState;\n\n"
                 + "".join(f"pub mod {e.name};\n" for e in ents)
                 + "\npub fn router() -> Router<AppState> {\n    Router::new()\n"
                 + "".join(f"        .merge({e.name}::router())\n" for e in ents) + "}\n")
        self.add(f"{g}/util/mod.rs", "//! Small helpers with no I/O.\n\n"
                 + "".join(f"pub mod {m};\n" for m in self.rs_util["gateway"]))
        mods = "".join(f"mod {m};\n" for m in self.rs_util["usage-meter"])
        self.add("services/usage-meter/src/main.rs", USAGE_METER_MAIN.replace("// MODULES\n", mods))

    # -- driver -----------------------------------------------------------

    def build(self) -> Corpus:
        self.core()
        # Keep room for the index files and a final, exactly sized filler module.
        stop_at = self.target * 0.975
        while self.c.total < stop_at:
            unit = max(self.SHARES, key=lambda k: self.SHARES[k] * self.target - self.produced[k])
            kind, svc = unit
            if kind == "py_entity":
                self.py_entity(svc)
            elif kind == "py_ordinary":
                self.py_ordinary(svc)
            elif kind == "rs_entity":
                self.rs_entity()
            elif kind == "rs_ordinary":
                self.rs_ordinary(svc)
            else:
                self.sql_unit()
        self.index_files()
        self.fill()
        return self.c

    def fill(self) -> None:
        """Top up with ordinary Python modules sized to land on the target."""
        while self.target - self.c.total > 30:
            remaining = self.target - self.c.total
            rng = self.rng
            svc = rng.choice(["analytics-worker", "py-common", "retrieval-api"])
            noun, topic = rng.choice(NOUNS), rng.choice(TOPICS)
            nm = Names(rng)
            makers = rng.sample(PY_SNIPS, len(PY_SNIPS))
            doc = f"{words(topic).capitalize()} helpers for {words(plural(noun))}.\n"
            snips: list[Snip] = []
            text = render_py_module(doc, snips)
            for maker in makers:
                candidate = snips + [maker(rng, nm, noun, rng.choice(FIELD_WORDS))]
                candidate_text = render_py_module(doc, candidate)
                if count_lines(candidate_text) > remaining and snips:
                    break
                snips, text = candidate, candidate_text
            if svc == "py-common":
                directory = "libs/py-common/src/py_common"
            else:
                s = self.py[svc]
                directory = f"services/{svc}/{s.package}/{rng.choice(self.ORDINARY_DIRS[svc])}"
            self.add(f"{directory}/{self.module_name(directory, topic)}.py", text)


RETRIEVAL_EMBEDDINGS = block('''
    """Client for the embedding service."""

    from __future__ import annotations

    import httpx

    from app.config import settings

    EMBEDDING_URL = "http://embedder:8080/embed"


    async def embed_query(text: str) -> list[float]:
        async with httpx.AsyncClient(timeout=settings.request_timeout_seconds) as client:
            response = await client.post(EMBEDDING_URL, json={"inputs": [text]})
            response.raise_for_status()
            return [float(x) for x in response.json()[0]]
    ''')

RETRIEVAL_SEARCH_API = block('''
    """Search endpoint: embeds the query and returns passages of the caller's organisation."""

    from __future__ import annotations

    from fastapi import APIRouter, Depends
    from pydantic import BaseModel, Field
    from qdrant_client import AsyncQdrantClient

    from app.api.deps import CurrentUser, get_current_user
    from app.config import settings
    from app.embeddings import embed_query
    from app.search.qdrant_search import search_passages

    router = APIRouter(prefix="/search", tags=["search"])


    class SearchRequest(BaseModel):
        query: str = Field(..., min_length=1, max_length=2000)
        limit: int = Field(default=10, ge=1, le=50)


    class SearchHit(BaseModel):
        document_id: str
        position: int
        text: str
        score: float


    @router.post("", response_model=list[SearchHit])
    async def search(body: SearchRequest, user: CurrentUser = Depends(get_current_user)) -> list[SearchHit]:
        client = AsyncQdrantClient(url=settings.qdrant_url, timeout=settings.request_timeout_seconds)
        vector = await embed_query(body.query)
        passages = await search_passages(client, str(user.org_id), vector, limit=body.limit)
        return [
            SearchHit(document_id=p.document_id, position=p.position, text=p.text, score=p.score) for p in passages
        ]
    ''')

NIGHTLY_ROLLUP = block('''
    """Nightly usage roll-up, one organisation at a time."""

    from __future__ import annotations

    import logging
    import uuid
    from datetime import date, timedelta

    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncSession

    from worker.db import AsyncSessionLocal, tenant_scoped_session

    logger = logging.getLogger(__name__)


    async def _rollup_org(db: AsyncSession, org_id: uuid.UUID, day: date) -> int:
        result = await db.execute(
            text(
                "INSERT INTO usage_counters (org_id, metric, period_start, value) "
                "SELECT :org_id, 'audit_events', :day, count(*) FROM audit_events "
                "WHERE org_id = :org_id AND created_at >= :day AND created_at < :next_day "
                "ON CONFLICT (org_id, metric, period_start) DO UPDATE SET value = EXCLUDED.value"
            ),
            {"org_id": str(org_id), "day": day, "next_day": day + timedelta(days=1)},
        )
        return result.rowcount or 0


    async def run_nightly_rollup(day: date | None = None) -> int:
        day = day or date.today() - timedelta(days=1)
        # cross-org-by-design: lists every organisation, then works inside each one's own scope
        async with AsyncSessionLocal() as db:
            org_ids = (await db.execute(text("SELECT id FROM organizations WHERE deleted_at IS NULL"))).scalars().all()
        total = 0
        for org_id in org_ids:
            async with tenant_scoped_session(org_id) as db:
                total += await _rollup_org(db, org_id, day)
        logger.info("rolled up %d organisations", len(org_ids))
        return total
    ''')

ANALYTICS_MAIN = block('''
    """Worker entry point: runs the scheduled jobs until stopped."""

    from __future__ import annotations

    import asyncio
    import logging
    import signal

    from worker.jobs.nightly_rollup import run_nightly_rollup

    INTERVAL_SECONDS = 24 * 3600


    async def main() -> None:
        logging.basicConfig(level=logging.INFO)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        while not stop.is_set():
            await run_nightly_rollup()
            try:
                await asyncio.wait_for(stop.wait(), timeout=INTERVAL_SECONDS)
            except TimeoutError:
                continue


    if __name__ == "__main__":
        asyncio.run(main())
    ''')

USAGE_METER_CARGO = block('''
    [package]
    name = "usage-meter"
    version = "0.1.0"
    edition = "2021"
    publish = false

    [dependencies]
    serde = { version = "1", features = ["derive"] }
    serde_json = "1"
    ''')

USAGE_METER_MAIN = block('''
    //! usage-meter: reads usage events (JSON lines) on stdin and prints per-metric totals.

    #![allow(dead_code)]

    // MODULES

    use std::collections::BTreeMap;
    use std::io::{self, BufRead, Write};

    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct UsageEvent {
        org_id: String,
        metric: String,
        #[serde(default = "one")]
        amount: u64,
    }

    fn one() -> u64 {
        1
    }

    fn main() -> io::Result<()> {
        let stdin = io::stdin();
        let mut totals: BTreeMap<(String, String), u64> = BTreeMap::new();
        let mut rejected = 0usize;
        for line in stdin.lock().lines() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<UsageEvent>(&line) {
                Ok(event) => *totals.entry((event.org_id, event.metric)).or_insert(0) += event.amount,
                Err(_) => rejected += 1,
            }
        }
        let mut out = io::stdout().lock();
        for ((org_id, metric), total) in &totals {
            writeln!(out, "{org_id}\\t{metric}\\t{total}")?;
        }
        if rejected > 0 {
            eprintln!("skipped {rejected} malformed lines");
        }
        Ok(())
    }
    ''')

README_MD = block('''
    # platform

    Monorepo for the knowledge platform.

    | path | what |
    |---|---|
    | `services/portal-api` | customer-facing REST API (FastAPI, SQLAlchemy, alembic) |
    | `services/knowledge-ingest` | crawlers, connectors and the embedding pipeline |
    | `services/retrieval-api` | search and answer endpoints over Qdrant |
    | `services/analytics-worker` | scheduled roll-ups and reports |
    | `services/gateway` | Rust API gateway (axum, sqlx) |
    | `services/usage-meter` | Rust usage aggregation |
    | `libs/py-common` | shared Python helpers |
    | `migrations/` | platform schema (organisations, memberships, audit) |

    Every tenant table has row level security enabled and forced, with a
    `tenant_isolation` policy keyed on `current_setting('app.current_org_id')`.
    Services set it per transaction (`set_config(..., true)`).

    ## Local development

        docker compose up -d postgres redis qdrant
        ./scripts/apply-platform-migrations.sh
        docker compose up portal-api
    ''')

COMPOSE_YML = block('''
    services:
      postgres:
        image: postgres:16
        environment:
          POSTGRES_PASSWORD: postgres
        ports: ["5432:5432"]
      redis:
        image: redis:7
        ports: ["6379:6379"]
      qdrant:
        image: qdrant/qdrant:v1.10.0
        ports: ["6333:6333"]
      portal-api:
        build: services/portal-api
        env_file: .env
        depends_on: [postgres, redis]
        ports: ["8000:8000"]
      knowledge-ingest:
        build: services/knowledge-ingest
        env_file: .env
        depends_on: [postgres, redis, qdrant]
      retrieval-api:
        build: services/retrieval-api
        env_file: .env
        depends_on: [redis, qdrant]
      analytics-worker:
        build: services/analytics-worker
        env_file: .env
        depends_on: [postgres]
      gateway:
        build: services/gateway
        env_file: .env
        depends_on: [postgres, redis]
        ports: ["8080:8080"]
    ''')

APPLY_MIGRATIONS_SH = block('''
    #!/usr/bin/env bash
    # Applies the platform schema in migrations/ in order. Idempotent.
    set -euo pipefail

    : "${DATABASE_URL:?set DATABASE_URL}"
    cd "$(dirname "$0")/.."
    for file in migrations/*.sql; do
        echo "applying ${file}"
        psql "$DATABASE_URL" -v ON_ERROR_STOP=1 --single-transaction -f "$file"
    done
    ''')


# --------------------------------------------------------------------------
# The feature branch: K realistic edits to existing files
# --------------------------------------------------------------------------

EDIT_CYCLE = ["py_router", "py_repo", "py_service", "rs_route", "py_router", "py_test", "py_repo", "py_service",
              "rs_db", "py_router", "py_service", "rs_route", "py_repo", "py_test", "py_router", "py_service",
              "rs_db", "py_repo", "rs_route", "py_router"]


def add_imports(text: str, imports: set[str]) -> str:
    """Add imports to a module: merged into an existing `from m import ...` line
    when there is one, otherwise placed after the last top-level import."""
    lines = text.split("\n")
    import_idx = [i for i, line in enumerate(lines) if line.startswith(("import ", "from "))
                  and not line.startswith("from __future__")]
    for imp in sorted(imports):
        if imp.startswith("import "):
            if imp in lines:
                continue
            at = max((i for i in import_idx if lines[i].startswith("import ")), default=None)
            at = at if at is not None else (import_idx[0] - 1 if import_idx else 0)
            lines.insert(at + 1, imp)
        else:
            module, _, names = imp[5:].partition(" import ")
            wanted = {n.strip() for n in names.split(",")}
            prefix = f"from {module} import "
            existing = next((i for i in import_idx if lines[i].startswith(prefix)), None)
            if existing is not None:
                have = {n.strip() for n in lines[existing][len(prefix):].split(",")}
                lines[existing] = prefix + ", ".join(sorted(have | wanted))
                continue
            at = max(import_idx, default=0)
            lines.insert(at + 1, prefix + ", ".join(sorted(wanted)))
        import_idx = [i for i, line in enumerate(lines) if line.startswith(("import ", "from "))
                      and not line.startswith("from __future__")]
    return "\n".join(lines)


def edit_py_router(rng: random.Random, text: str, e: Entity, variant: str) -> str:
    v, c, t = e.name, e.cls, e.tenant_col
    if variant == "export":
        return text + block('''


            @router.post("/{@@v@@_id}/export", status_code=status.HTTP_202_ACCEPTED)
            async def export_@@v@@(
                @@v@@_id: uuid.UUID,
                user: CurrentUser = Depends(get_current_user),
                db: AsyncSession = Depends(get_tenant_db),
            ) -> dict[str, str]:
                import json

                from app.cache import get_redis

                repo = @@c@@Repository(db, user.@@t@@)
                item = await _get_@@v@@_or_404(repo, user.@@t@@, @@v@@_id)
                job_id = uuid.uuid4().hex
                redis = await get_redis()
                await redis.set(
                    f"export:job:{job_id}",
                    json.dumps({"@@v@@_id": str(item.id), "requested_by": str(user.id)}),
                    ex=3600,
                )
                return {"job_id": job_id}
            ''', v=v, c=c, t=t)
    if variant == "duplicate":
        fields = ", ".join(f'"{f.name}"' for f in e.fields[1:])
        return text + block('''


            @router.post("/{@@v@@_id}/duplicate", response_model=@@c@@Read, status_code=status.HTTP_201_CREATED)
            async def duplicate_@@v@@(
                @@v@@_id: uuid.UUID,
                user: CurrentUser = Depends(get_current_user),
                db: AsyncSession = Depends(get_tenant_db),
            ) -> @@c@@Read:
                repo = @@c@@Repository(db, user.@@t@@)
                source = await _get_@@v@@_or_404(repo, user.@@t@@, @@v@@_id)
                copied = {name: getattr(source, name) for name in (@@fields@@,)}
                item = await repo.create(@@d@@=f"{source.@@d@@} (copy)", **copied)
                return @@c@@Read.model_validate(item)
            ''', v=v, c=c, t=t, d=e.display.name, fields=fields)
    return text + block('''


        @router.get("/{@@v@@_id}/timestamps")
        async def get_@@v@@_timestamps(
            @@v@@_id: uuid.UUID,
            user: CurrentUser = Depends(get_current_user),
            db: AsyncSession = Depends(get_tenant_db),
        ) -> dict[str, str | None]:
            repo = @@c@@Repository(db, user.@@t@@)
            item = await _get_@@v@@_or_404(repo, user.@@t@@, @@v@@_id)
            return {
                "id": str(item.id),
                "created_at": item.created_at.isoformat(),
                "updated_at": item.updated_at.isoformat() if item.updated_at else None,
            }
        ''', v=v, c=c, t=t)


def edit_py_repo(rng: random.Random, text: str, e: Entity) -> str:
    c, t = e.cls, e.tenant_col
    old = f".order_by({c}.created_at.desc())\n            .limit(limit)\n            .offset(offset)"
    new = f".order_by({c}.updated_at.desc(), {c}.id)\n            .limit(limit)\n            .offset(offset)"
    text = text.replace(old, new, 1)
    return text + "\n" + indent(block('''
        async def list_updated_since(self, since: datetime, *, limit: int = 100) -> Sequence[@@c@@]:
            stmt = (
                select(@@c@@)
                .where(@@c@@.@@t@@ == self._@@t@@, @@c@@.updated_at >= since)
                .order_by(@@c@@.updated_at)
                .limit(limit)
            )
            return (await self._db.execute(stmt)).scalars().all()
        ''', c=c, t=t), 4) + "\n"


def edit_py_service(rng: random.Random, text: str, e: Entity) -> str:
    nm = Names(rng)
    nm.used.update(re.findall(r"^(?:async def|def|class) (\w+)", text, re.M))
    nm.used.update(re.findall(r"^(\w+)\s*[:=]", text, re.M))
    snip = rng.choice(PY_SNIPS)(rng, nm, e.name, rng.choice(FIELD_WORDS))
    text = add_imports(text, set(snip.imports))
    for p in snip.prelude:
        if p not in text:
            text += "\n\n" + p + "\n"
    return text + "\n\n" + snip.code


def edit_py_test(rng: random.Random, text: str, e: Entity) -> str:
    d = e.display.name
    return text + block('''


        def test_prepare_values_collapses_whitespace_in_@@d@@() -> None:
            from app.services.@@v@@_service import prepare_values

            cleaned = prepare_values({"@@d@@": "  Weekly   sync  "})
            assert cleaned["@@d@@"] == "Weekly sync"
        ''', d=d, v=e.name)


def edit_rs_route(rng: random.Random, text: str, e: Entity, variant: str) -> str:
    v, c, url = e.name, e.cls, e.url
    if variant == "export":
        route = f'.route("/{url}/:id/export", get(export_{v}))'
        handler = block('''

            async fn export_@@v@@(
                State(state): State<AppState>,
                claims: Claims,
                headers: axum::http::HeaderMap,
                Path(id): Path<Uuid>,
            ) -> Result<Json<@@c@@>, ApiError> {
                let provided_token = headers
                    .get("x-export-token")
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or_default();
                if provided_token != state.config.export_token {
                    return Err(ApiError::Unauthorized);
                }
                let mut tx = tenant::begin(&state.pool, claims.org_id).await?;
                let row = store::get(&mut tx, claims.org_id, id).await?.ok_or(ApiError::NotFound)?;
                authorize_owner(&claims, row.@@t@@)?;
                tx.commit().await?;
                Ok(Json(row))
            }
            ''', v=v, c=c, t=e.tenant_col)
    else:
        route = f'.route("/{url}/:id/touch", post(touch_{v}))'
        handler = block('''

            async fn touch_@@v@@(
                State(state): State<AppState>,
                claims: Claims,
                Path(id): Path<Uuid>,
            ) -> Result<Json<@@c@@>, ApiError> {
                let mut tx = tenant::begin(&state.pool, claims.org_id).await?;
                let existing = store::get(&mut tx, claims.org_id, id).await?.ok_or(ApiError::NotFound)?;
                authorize_owner(&claims, existing.@@t@@)?;
                let row = store::update(&mut tx, claims.org_id, id, &@@c@@Patch::default())
                    .await?
                    .ok_or(ApiError::NotFound)?;
                tx.commit().await?;
                Ok(Json(row))
            }
            ''', v=v, c=c, t=e.tenant_col)
    text = text.replace("    Router::new()\n", f"    Router::new()\n        {route}\n", 1)
    return text + handler


def edit_rs_db(rng: random.Random, text: str, e: Entity) -> str:
    tc = e.tenant_col
    cols = ", ".join(["id", tc] + [f.name for f in e.fields] + ["created_at", "updated_at"])
    text = text.replace("ORDER BY created_at DESC LIMIT $2 OFFSET $3", "ORDER BY updated_at DESC, id LIMIT $2 OFFSET $3", 1)
    return text + block('''

        pub async fn list_updated_since(
            tx: &mut Transaction<'_, Postgres>,
            @@tc@@: Uuid,
            since: chrono::DateTime<chrono::Utc>,
            limit: i64,
        ) -> sqlx::Result<Vec<@@c@@>> {
            sqlx::query_as::<_, @@c@@>(
                "SELECT @@cols@@ FROM @@t@@ WHERE @@tc@@ = $1 AND updated_at >= $2 ORDER BY updated_at LIMIT $3",
            )
            .bind(@@tc@@)
            .bind(since)
            .bind(limit)
            .fetch_all(&mut **tx)
            .await
        }
        ''', tc=tc, c=e.cls, cols=cols, t=e.table)


def make_feature_edits(c: Corpus, k: int, seed: int) -> tuple[list[str], list[tuple[str, str, str]]]:
    """Edit `k` existing files in place; return the changed paths and the new planted findings."""
    rng = random.Random(seed * 7919 + 1)
    pools: dict[str, list[str]] = {}
    for path in sorted(c.meta):
        pools.setdefault(str(c.meta[path]["kind"]), []).append(path)
    for paths in pools.values():
        rng.shuffle(paths)
    changed: list[str] = []
    planted: list[tuple[str, str, str]] = []
    done_py_finding = done_rs_finding = False
    i = 0
    while len(changed) < k and any(pools.values()):
        kind = EDIT_CYCLE[i % len(EDIT_CYCLE)]
        i += 1
        if not pools.get(kind):
            continue
        path = pools[kind].pop()
        e = c.meta[path]["entity"]
        assert isinstance(e, Entity)
        text = c.files[path]
        if kind == "py_router":
            variant = "export" if not done_py_finding else rng.choice(["duplicate", "timestamps"])
            if variant == "export":
                done_py_finding = True
                planted.append((path, 'f"export:job:{job_id}"', "TL010 Redis key without tenant (new)"))
            text = edit_py_router(rng, text, e, variant)
        elif kind == "py_repo":
            text = edit_py_repo(rng, text, e)
        elif kind == "py_service":
            text = edit_py_service(rng, text, e)
        elif kind == "py_test":
            text = edit_py_test(rng, text, e)
        elif kind == "rs_route":
            variant = "export" if not done_rs_finding else "touch"
            if variant == "export":
                done_rs_finding = True
                planted.append((path, "if provided_token != state.config.export_token", "TL013 Rust token compare (new)"))
            text = edit_rs_route(rng, text, e, variant)
        elif kind == "rs_db":
            text = edit_rs_db(rng, text, e)
        c.files[path] = text
        changed.append(path)
    return changed, planted


# --------------------------------------------------------------------------
# Writing, git, reporting
# --------------------------------------------------------------------------

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Platform Team", "GIT_AUTHOR_EMAIL": "platform@example.invalid",
    "GIT_COMMITTER_NAME": "Platform Team", "GIT_COMMITTER_EMAIL": "platform@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(root: Path, *args: str, date: str) -> None:
    env = dict(os.environ, **GIT_ENV, GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    subprocess.run(["git", "-c", "commit.gpgsign=false", "-c", "core.autocrlf=false", *args],
                   cwd=root, env=env, check=True, stdout=subprocess.DEVNULL)


def write_files(root: Path, files: dict[str, str], only: list[str] | None = None) -> None:
    for rel in only if only is not None else files:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[rel], encoding="utf-8")
        if rel.endswith(".sh"):
            path.chmod(0o755)


def locate(files: dict[str, str], planted: list[tuple[str, str, str]]) -> list[str]:
    out = []
    for path, needle, what in planted:
        text = files[path]
        idx = text.find(needle)
        line = text.count("\n", 0, idx) + 1 if idx >= 0 else 0
        out.append(f"  {path}:{line}  {what}")
    return out


def stats(files: dict[str, str]) -> str:
    by_ext: dict[str, list[int]] = {}
    for path, text in files.items():
        ext = path.rsplit(".", 1)[-1] if "." in path.rsplit("/", 1)[-1] else "other"
        ext = ext if ext in ("py", "rs", "sql") else "other"
        entry = by_ext.setdefault(ext, [0, 0])
        entry[0] += 1
        entry[1] += count_lines(text)
    total_files = sum(v[0] for v in by_ext.values())
    total_lines = sum(v[1] for v in by_ext.values())
    parts = ", ".join(f"{ext} {by_ext[ext][0]} files / {by_ext[ext][1]} lines"
                      for ext in ("py", "rs", "sql", "other") if ext in by_ext)
    return f"{total_files} files, {total_lines} lines ({parts})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a synthetic multi-tenant monorepo.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--lines", type=int, default=140_000, help="total lines to write (default 140000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--git", action="store_true", help="git init and commit on branch main")
    parser.add_argument("--change", type=int, default=0, metavar="K",
                        help="also commit K edited files on branch feature (implies --git)")
    args = parser.parse_args(argv)

    out: Path = args.out_dir
    if out.exists() and any(out.iterdir()):
        parser.error(f"{out} exists and is not empty")
    if args.lines < 1000:
        parser.error("--lines must be at least 1000")
    out.mkdir(parents=True, exist_ok=True)

    corpus = Builder(args.lines, args.seed).build()
    write_files(out, corpus.files)
    print(f"wrote {out}: {stats(corpus.files)}")
    print("planted findings:")
    print("\n".join(locate(corpus.files, corpus.planted)))

    if args.git or args.change:
        git(out, "init", "-q", "-b", "main", date="2024-06-03T09:00:00+00:00")
        git(out, "add", "-A", date="2024-06-03T09:00:00+00:00")
        git(out, "commit", "-q", "-m", "Import platform monorepo", date="2024-06-03T09:00:00+00:00")
        print("git: committed on main")
    if args.change:
        changed, planted = make_feature_edits(corpus, args.change, args.seed)
        git(out, "checkout", "-q", "-b", "feature", date="2024-06-04T09:00:00+00:00")
        write_files(out, corpus.files, only=changed)
        git(out, "add", "-A", date="2024-06-04T09:00:00+00:00")
        git(out, "commit", "-q", "-m", "Add export and duplicate endpoints, order lists by last update",
            date="2024-06-04T09:00:00+00:00")
        print(f"git: branch feature checked out, {len(changed)} files changed; new findings:")
        print("\n".join(locate(corpus.files, planted)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
