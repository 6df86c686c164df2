"""docker-compose.yml: the production stack runs no simulator and points nothing at it.

Docker Compose is not on the machines that run the suite (`docker compose config` is
unavailable) and no YAML parser is among the dependencies, so the file is read by the
small reader below: block mappings and sequences, quoted and plain scalars, flow lists,
folded scalars, anchors, aliases and merge keys: what the compose file uses, nothing
more. A construct it does not know fails the test rather than being skipped.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tests.conftest import ROOT

COMPOSE = ROOT / "docker-compose.yml"


class Reader:
    def __init__(self, text: str):
        self.lines = [
            (len(line) - len(line.lstrip(" ")), line.strip())
            for line in text.splitlines()
            if line.strip() and not line.strip().startswith("#")
        ]
        self.anchors: dict[str, Any] = {}
        self.pos = 0

    def document(self) -> dict[str, Any]:
        node = self.block(0)
        assert self.pos == len(self.lines), f"unread: {self.lines[self.pos]}"
        return node

    def block(self, indent: int) -> Any:
        if self.lines[self.pos][1].startswith("- "):
            return self.sequence(indent)
        return self.mapping(indent)

    def sequence(self, indent: int) -> list[Any]:
        items = []
        while self.pos < len(self.lines) and self.lines[self.pos][0] == indent:
            content = self.lines[self.pos][1]
            if not content.startswith("- "):
                break
            assert not re.match(r"- [\w.-]+: ", content), f"mapping in a list: {content}"
            self.pos += 1
            if content[2:] in (">-", ">", "|", "|-"):
                items.append(self.folded(indent))
            else:
                items.append(self.scalar(content[2:]))
        return items

    def mapping(self, indent: int) -> dict[str, Any]:
        node: dict[str, Any] = {}
        while self.pos < len(self.lines) and self.lines[self.pos][0] == indent:
            content = self.lines[self.pos][1]
            match = re.fullmatch(r'("[^"]*"|[^\s:"]+):(?: (.*))?', content)
            assert match, f"not a mapping entry: {content}"
            key, rest = match.group(1).strip('"'), (match.group(2) or "").strip()
            self.pos += 1
            anchor = None
            if rest.startswith("&"):
                anchor, _, rest = rest.partition(" ")
                anchor = anchor[1:]
            if rest in (">-", ">", "|", "|-"):
                value: Any = self.folded(indent)
            elif rest:
                value = self.scalar(rest)
            elif self.pos < len(self.lines) and self.lines[self.pos][0] > indent:
                value = self.block(self.lines[self.pos][0])
            else:
                value = None
            if anchor:
                self.anchors[anchor] = value
            if key == "<<":
                for merged in value if isinstance(value, list) else [value]:
                    node = {**merged, **node}
            else:
                node[key] = value
        return node

    def folded(self, indent: int) -> str:
        parts = []
        while self.pos < len(self.lines) and self.lines[self.pos][0] > indent:
            parts.append(self.lines[self.pos][1])
            self.pos += 1
        return " ".join(parts)

    def scalar(self, text: str) -> Any:
        if text.startswith("*"):
            return self.anchors[text[1:]]
        if text.startswith("[") and "*" in text:
            return [self.scalar(part.strip()) for part in text.strip("[]").split(",")]
        if text.startswith(("[", '"')):
            return json.loads(text)
        return text


def compose() -> dict[str, Any]:
    return Reader(COMPOSE.read_text(encoding="utf-8")).document()


def test_the_reader_reads_the_file_whole():
    services = compose()["services"]
    assert {"postgres", "redis", "migrate", "portal", "diary", "worker", "simulator"} <= set(
        services
    )
    # Anchors and merge keys resolved: the portal has the app defaults and its env.
    assert services["portal"]["read_only"] == "true"
    assert "PORTAL_DATABASE_URL" in services["portal"]["environment"]
    assert services["migrate"]["environment"].keys() >= {"PORTAL_REDIS_URL", "DIARY_REDIS_URL"}


def test_the_simulator_runs_only_in_the_demo_profile():
    services = compose()["services"]
    assert services["simulator"]["profiles"] == ["demo"]
    assert [name for name, service in services.items() if "profiles" in service] == ["simulator"]


def test_the_production_stack_neither_needs_nor_points_at_the_simulator():
    services = compose()["services"]
    for name, service in services.items():
        if name == "simulator":
            continue
        assert "simulator" not in (service.get("depends_on") or {}), name
        for variable, value in (service.get("environment") or {}).items():
            assert "simulator" not in str(value), (name, variable, value)
            assert not variable.startswith("SIMULATOR_"), (name, variable)
        assert "portal.simulator" not in str(service.get("command")), name
    # The outside systems' addresses come from .env only: no default in the file.
    text = COMPOSE.read_text(encoding="utf-8")
    for variable in ("REGISTRY_URL", "SMTP_HOST", "SMTP_PORT", "SMS_GATEWAY_URL"):
        assert not re.search(rf"(PORTAL|DIARY)_{variable}:", text), variable


def test_the_simulator_migrates_its_own_database_before_serving():
    simulator = compose()["services"]["simulator"]
    command = " ".join(simulator["command"])
    assert command.index("portal.simulator db upgrade") < command.index("portal.simulator serve")
    assert simulator["depends_on"] == {"postgres": {"condition": "service_healthy"}}
