"""Reading what the apps expose for operators: ``/metrics`` parsed as Prometheus would,
and the JSON log lines as a log shipper would read them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client.parser import text_string_to_metric_families

from shared.logs import JsonFormatter


class Samples(dict):
    """``/metrics`` as ``{(sample name, frozenset of labels): value}``."""

    def value(self, name: str, **labels: str) -> float:
        return self.get((name, frozenset(labels.items())), 0.0)

    def total(self, name: str, **labels: str) -> float:
        """The sum over every sample of ``name`` whose labels include ``labels``."""
        wanted = set(labels.items())
        return sum(v for (n, key), v in self.items() if n == name and wanted <= key)

    def label_values(self, name: str, label: str) -> set[str]:
        return {dict(key)[label] for (n, key) in self if n == name and label in dict(key)}


def parse_metrics(text: str) -> Samples:
    samples = Samples()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def scrape(client) -> Samples:
    """``GET /metrics`` from loopback (the test client's address is 127.0.0.1)."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return parse_metrics(response.get_data(as_text=True))


class LogLines:
    def __init__(self, stream: io.StringIO):
        self.stream = stream

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def all(self) -> list[dict]:
        return [json.loads(line) for line in self.text.splitlines() if line]

    def requests(self, **match) -> list[dict]:
        """The request lines (``<app>.request``) whose fields equal ``match``."""
        return [
            line
            for line in self.all()
            if line["logger"].endswith(".request")
            and all(line.get(key) == value for key, value in match.items())
        ]


@contextmanager
def json_logs() -> Iterator[LogLines]:
    """Every record the process logs meanwhile, formatted by the apps' JSON formatter
    (what their handler writes to stderr)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield LogLines(stream)
    finally:
        root.removeHandler(handler)
