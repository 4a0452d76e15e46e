"""Checks of infra/monitoring: the Prometheus rules and config, and the Grafana dashboard.

With promtool (Debian's `prometheus` package): the rule files and the config are valid, and the
rules' own unit tests (alerts_test.yml) pass. Without it: every metric a rule or a panel names
is one the services really export (their registries are built here, FastStream's families
included), every label a query matches or groups by is one the family has (or one the scrape
config attaches), every stream and group name is one of shared/streams.py, the desk's observer
lag never pages, and the dashboard is well formed.

promtool ($PROMTOOL, else the one on PATH) missing: the promtool tests are skipped, or fail when
WIREPRESS_OPS_TOOLS=required. Debian's promtool has no Kubernetes discovery: the config is then
checked with its Kubernetes job's discovery swapped for an empty static list.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from ruamel.yaml import YAML

from services.enrich.app import EnrichMetrics
from services.ingest.app import IngestMetrics
from shared.broker import create_broker
from shared.metrics import Metrics
from shared.settings import ServiceSettings
from shared.streams import ALL_STREAMS, CONSUMER_GROUPS, OBSERVERS

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "infra" / "monitoring"
PROMETHEUS = MONITORING / "prometheus"
ALERTS = PROMETHEUS / "alerts.yml"
RECORDING = PROMETHEUS / "recording.yml"
RULE_FILES = (ALERTS, RECORDING)
ALERTS_TEST = PROMETHEUS / "alerts_test.yml"
CONFIG = PROMETHEUS / "prometheus.yml"
DASHBOARD = MONITORING / "grafana" / "wirepress.json"
README = MONITORING / "README.md"
COMPOSE_FILE = ROOT / "docker-compose.yml"

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
#: The gauges read from Redis per stream and group, in which the desk's observer lag shows.
GROUP_GAUGES = (
    "wirepress_stream_lag",
    "wirepress_stream_pending",
    "wirepress_stream_oldest_pending_age_seconds",
)
#: What the dashboard must show (sample names as Prometheus sees them).
DASHBOARD_REQUIRES = (
    "wirepress_ingest_requests_total",
    "wirepress_stage_messages_total",
    "wirepress_push_to_page_seconds_bucket",
    "wirepress_stage_processing_seconds_bucket",
    "wirepress_stage_wait_seconds_bucket",
    "wirepress_stream_lag",
    "wirepress_stream_pending",
    "wirepress_stream_oldest_pending_age_seconds",
    "wirepress_stream_dead_letters",
    "wirepress_ingest_backpressure_total",
    "wirepress_s3_requests_total",
    "wirepress_s3_request_duration_seconds_bucket",
    "wirepress_service_ready",
    "wirepress_enrich_refreshes_due",
    "wirepress_enrich_semantic_model_age_seconds",
)
#: What the alerts must cover, by the metric each one watches.
ALERTS_REQUIRE = (
    "wirepress_stream_lag",
    "wirepress_stream_pending",
    "wirepress_stream_oldest_pending_age_seconds",
    "wirepress_stream_dead_letters",
    "wirepress_push_to_page_seconds_bucket",
    "wirepress_service_ready",
    "up",
    "wirepress_ingest_backpressure_total",
    "wirepress_s3_requests_total",
    "wirepress_enrich_semantic_model_age_seconds",
    "wirepress_enrich_refreshes_due",
)


def _load_yaml(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


# --- promtool ----------------------------------------------------------------------------------


def _promtool() -> str:
    """promtool: $PROMTOOL (an upstream build, say), else the one on PATH."""
    chosen = os.environ.get("PROMTOOL")
    found = (
        (chosen if os.access(chosen, os.X_OK) else None)
        if chosen
        else shutil.which("promtool") or shutil.which("promtool", path="/usr/bin")
    )
    if found:
        return found
    reason = f"promtool not found ({'PROMTOOL=' + chosen if chosen else 'not on PATH'}; "
    reason += "Debian/Ubuntu: apt-get install prometheus)"
    if os.environ.get("WIREPRESS_OPS_TOOLS") == "required":
        pytest.fail(f"{reason}, and WIREPRESS_OPS_TOOLS=required")
    pytest.skip(f"{reason}; set WIREPRESS_OPS_TOOLS=required to fail instead")


def _run(*args: str | Path, cwd: Path = PROMETHEUS) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def _assert_ok(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, f"{' '.join(done.args)}:\n{done.stdout}\n{done.stderr}"


def test_promtool_check_rules() -> None:
    _assert_ok(_run(_promtool(), "check", "rules", *RULE_FILES))


def test_promtool_test_rules() -> None:
    _assert_ok(_run(_promtool(), "test", "rules", ALERTS_TEST.name))


def _without_kubernetes_sd(tmp_path: Path) -> Path:
    """The config with its Kubernetes discovery swapped for an empty static list (the relabel
    rules stay, and are checked) and its rule files by absolute path."""
    config = _load_yaml(CONFIG)
    config["rule_files"] = [str(PROMETHEUS / name) for name in config["rule_files"]]
    for job in config["scrape_configs"]:
        if job.pop("kubernetes_sd_configs", None) is not None:
            job["static_configs"] = [{"targets": []}]
    derived = tmp_path / "prometheus.yml"
    with derived.open("w", encoding="utf-8") as out:
        YAML(typ="safe").dump(config, out)
    return derived


def _has_kubernetes_sd(promtool: str, tmp_path: Path) -> bool:
    """Debian builds Prometheus without Kubernetes discovery: such a promtool refuses any
    config that uses it."""
    probe = tmp_path / "probe.yml"
    probe.write_text(
        "scrape_configs:\n  - job_name: probe\n    kubernetes_sd_configs:\n      - role: pod\n",
        encoding="utf-8",
    )
    done = _run(promtool, "check", "config", probe)
    return "kubernetes_sd_configs not found" not in done.stdout + done.stderr


def test_promtool_check_config(tmp_path: Path) -> None:
    promtool = _promtool()
    if not _has_kubernetes_sd(promtool, tmp_path):
        pytest.skip(
            "this promtool was built without Kubernetes discovery (Debian's is); "
            "test_promtool_check_config_without_kubernetes_sd checks the rest"
        )
    _assert_ok(_run(promtool, "check", "config", CONFIG.name))


def test_promtool_check_config_without_kubernetes_sd(tmp_path: Path) -> None:
    _assert_ok(_run(_promtool(), "check", "config", _without_kubernetes_sd(tmp_path)))


def test_promtool_parses_dashboard_queries(tmp_path: Path) -> None:
    """Every panel's query is valid PromQL (as a recording rule, Grafana's $__rate_interval
    standing for 5m)."""
    rules = [
        {
            "record": f"dashboard:panel_{panel['id']}:{target['refId']}",
            "expr": target["expr"].replace("$__rate_interval", "5m"),
        }
        for panel in _panels(_dashboard())
        for target in panel.get("targets", [])
    ]
    path = tmp_path / "dashboard_rules.yml"
    with path.open("w", encoding="utf-8") as out:
        YAML(typ="safe").dump({"groups": [{"name": "dashboard", "rules": rules}]}, out)
    _assert_ok(_run(_promtool(), "check", "rules", path))


# --- what the services export ------------------------------------------------------------------

#: Sample names each family type exposes (prometheus_client, text format).
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "info": ("_info",),
    "stateset": ("",),
    "enum": ("",),
    "unknown": ("",),
}


def _label_names(registry: CollectorRegistry, family: str) -> tuple[str, ...]:
    collector = registry._names_to_collectors[family]
    names: tuple[str, ...] = tuple(getattr(collector, "_labelnames", ()))
    return names


def _samples(registry: CollectorRegistry) -> dict[str, frozenset[str]]:
    """Sample name -> its label names, for every family of the registry."""
    found: dict[str, frozenset[str]] = {}
    for family in registry.collect():
        labels = _label_names(registry, family.name)
        for suffix in _SUFFIXES[family.type]:
            extra = {"le"} if suffix == "_bucket" else set()
            found[family.name + suffix] = frozenset(labels) | extra
    return found


def _registries() -> list[CollectorRegistry]:
    """The registries of the services, with every family any of them has."""
    common = Metrics("check")
    create_broker(ServiceSettings(wirepress_env="dev"), common)  # FastStream's families
    ingest = Metrics("ingest")
    IngestMetrics(ingest)
    enrich = Metrics("enrich")
    EnrichMetrics(enrich)
    return [common.registry, ingest.registry, enrich.registry]


def _exported() -> dict[str, frozenset[str]]:
    """Every sample name a Wirepress service exposes, with its label names."""
    found: dict[str, frozenset[str]] = {}
    for registry in _registries():
        found.update(_samples(registry))
    return found


def _target_labels() -> frozenset[str]:
    """Labels Prometheus attaches to every scraped sample, by prometheus.yml."""
    labels = {"job", "instance"}
    for job in _load_yaml(CONFIG)["scrape_configs"]:
        for relabel in job.get("relabel_configs") or []:
            target = relabel.get("target_label", "")
            if target and not target.startswith("__"):
                labels.add(target)
        for static in job.get("static_configs") or []:
            labels.update((static.get("labels") or {}).keys())
    return frozenset(labels)


# --- a small PromQL reader ---------------------------------------------------------------------

AGGREGATIONS = frozenset(("sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
                          "count_values", "bottomk", "topk", "quantile"))  # fmt: skip
#: PromQL's functions (Prometheus 2.42).
FUNCTIONS = frozenset((
    "abs", "absent", "absent_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min",
    "day_of_month", "day_of_week", "day_of_year", "days_in_month", "delta", "deriv", "exp",
    "floor", "histogram_count", "histogram_fraction", "histogram_quantile", "histogram_sum",
    "holt_winters", "hour", "idelta", "increase", "irate", "label_join", "label_replace", "ln",
    "log2", "log10", "minute", "month", "predict_linear", "rate", "resets", "round", "scalar",
    "sgn", "sort", "sort_desc", "sqrt", "time", "timestamp", "vector", "year", "avg_over_time",
    "min_over_time", "max_over_time", "sum_over_time", "count_over_time", "quantile_over_time",
    "stddev_over_time", "stdvar_over_time", "last_over_time", "present_over_time", "acos",
    "acosh", "asin", "asinh", "atan", "atanh", "cos", "cosh", "sin", "sinh", "tan", "tanh",
    "deg", "pi", "rad",
))  # fmt: skip
#: `@ start()` and `@ end()`.
MODIFIERS = frozenset({"start", "end"})
GROUPING = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "atan2", "inf", "nan"})

_TOKEN = re.compile(
    r"""
    (?P<space>\s+|\#[^\n]*)
    |(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
    |(?P<number>(?:0[xX][0-9a-fA-F]+|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
                (?:(?:ms|[smhdwy])(?:\d+(?:ms|[smhdwy]))*)?)
    |(?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
    |(?P<variable>\$\{[^}]*\}|\$\w+)
    |(?P<op>=~|!~|!=|==|<=|>=|[-+*/%^<>=(){}\[\],@])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str
    value: str

    def accepts(self, candidate: str) -> bool:
        if self.op == "=":
            return candidate == self.value
        if self.op == "!=":
            return candidate != self.value
        found = re.fullmatch(self.value, candidate) is not None
        return found if self.op == "=~" else not found


@dataclass(frozen=True)
class Selector:
    name: str
    matchers: tuple[Matcher, ...]
    at: int  # token index

    def accepts(self, label: str, value: str) -> bool:
        return all(m.accepts(value) for m in self.matchers if m.label == label)


@dataclass(frozen=True)
class Grouping:
    keyword: str
    labels: tuple[str, ...]
    #: The selectors whose labels it may name: an aggregation's body, or the whole expression.
    scope: tuple[Selector, ...]


@dataclass(frozen=True)
class Query:
    selectors: tuple[Selector, ...]
    groupings: tuple[Grouping, ...]
    functions: tuple[str, ...]

    @property
    def metrics(self) -> set[str]:
        return {s.name for s in self.selectors}


def _tokens(expr: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(expr):
        match = _TOKEN.match(expr, pos)
        if match is None:
            raise ValueError(f"cannot read {expr[pos : pos + 20]!r} in {expr!r}")
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(Token(kind, match.group()))
        pos = match.end()
    return tokens


def _unquote(text: str) -> str:
    if text.startswith("`"):
        return text[1:-1]
    inner = text[1:-1]
    if text.startswith("'"):
        inner = inner.replace("\\'", "'").replace('"', '\\"')
    value: str = json.loads(f'"{inner}"')
    return value


def _closing(tokens: list[Token]) -> dict[int, int]:
    """Index of every opening bracket -> its closing one (and back)."""
    pairs = {"(": ")", "{": "}", "[": "]"}
    stack: list[int] = []
    found: dict[int, int] = {}
    for i, token in enumerate(tokens):
        if token.kind != "op":
            continue
        if token.text in pairs:
            stack.append(i)
        elif token.text in pairs.values():
            if not stack or pairs[tokens[stack[-1]].text] != token.text:
                raise ValueError(f"unbalanced {token.text!r} at token {i}")
            opened = stack.pop()
            found[opened], found[i] = i, opened
    if stack:
        raise ValueError(f"unclosed {tokens[stack[-1]].text!r}")
    return found


def _matchers(tokens: list[Token], start: int, end: int) -> tuple[Matcher, ...]:
    """The matchers between `{` at start and `}` at end."""
    found: list[Matcher] = []
    i = start + 1
    while i < end:
        label, op, value = tokens[i : i + 3]
        if label.kind != "ident" or op.text not in ("=", "!=", "=~", "!~"):
            raise ValueError(f"bad matcher at {label.text!r} {op.text!r}")
        if value.kind != "string":
            raise ValueError(f"matcher {label.text} needs a quoted value, not {value.text!r}")
        found.append(Matcher(label.text, op.text, _unquote(value.text)))
        i += 3
        if i < end and tokens[i].text == ",":
            i += 1
    return tuple(found)


def _label_list(tokens: list[Token], start: int, end: int) -> tuple[str, ...]:
    labels = tuple(t.text for t in tokens[start + 1 : end] if t.text != ",")
    for label in labels:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", label):
            raise ValueError(f"bad label {label!r} in a grouping")
    return labels


def _aggregation_body(
    tokens: list[Token], closing: dict[int, int], at: int
) -> tuple[int, int] | None:
    """The parenthesised body of the aggregation a `by`/`without` at `at` belongs to."""
    before = tokens[at - 1] if at else None
    if before is not None and before.kind == "ident" and before.text in AGGREGATIONS:
        body = closing[at + 1] + 1  # `sum by (...) (body)`
        return (body, closing[body]) if body in closing else None
    if before is not None and before.text == ")":
        opened = closing[at - 1]  # `sum (body) by (...)`
        if opened and tokens[opened - 1].text in AGGREGATIONS:
            return opened, at - 1
    return None


class _Reader:
    """One pass over an expression's tokens, collecting what `parse` returns."""

    def __init__(self, expr: str) -> None:
        self.expr = expr
        self.tokens = _tokens(expr)
        self.closing = _closing(self.tokens)
        self.selectors: list[Selector] = []
        self.groupings: list[tuple[str, tuple[str, ...], int]] = []
        self.functions: list[str] = []

    def _next_is(self, i: int, text: str) -> bool:
        return i + 1 < len(self.tokens) and self.tokens[i + 1].text == text

    def step(self, i: int) -> int:
        """Read the construct at token i; the index after it."""
        token = self.tokens[i]
        if token.text == "[":  # a range or subquery: durations and Grafana's variables
            return self.closing[i] + 1
        if token.kind == "ident" and token.text.lower() in KEYWORDS:
            return i + 2 if token.text == "offset" else i + 1
        if token.kind == "ident" and token.text in GROUPING:
            if not self._next_is(i, "("):
                return i + 1  # `group_left` without labels
            end = self.closing[i + 1]
            self.groupings.append((token.text, _label_list(self.tokens, i + 1, end), i))
            return end + 1
        if (
            token.kind == "ident"
            and token.text in AGGREGATIONS
            and (self._next_is(i, "by") or self._next_is(i, "without"))
        ):
            self.functions.append(token.text)  # `sum by (...) (...)`
            return i + 1
        if token.kind == "ident" and self._next_is(i, "("):
            if token.text not in AGGREGATIONS | FUNCTIONS | MODIFIERS:
                raise ValueError(f"unknown function {token.text!r} in {self.expr!r}")
            self.functions.append(token.text)
            return i + 1
        if token.kind == "ident" or token.text == "{":
            return self.selector(i)
        return i + 1

    def selector(self, i: int) -> int:
        named = self.tokens[i].kind == "ident"
        name = self.tokens[i].text if named else ""
        brace = i + 1 if named else i
        matchers: tuple[Matcher, ...] = ()
        after = i + 1
        if brace < len(self.tokens) and self.tokens[brace].text == "{":
            matchers = _matchers(self.tokens, brace, self.closing[brace])
            after = self.closing[brace] + 1
        if not name:
            name = next((m.value for m in matchers if m.label == "__name__"), "")
            matchers = tuple(m for m in matchers if m.label != "__name__")
        if not name:
            raise ValueError(f"a selector without a metric name in {self.expr!r}")
        self.selectors.append(Selector(name, matchers, i))
        return after

    def query(self) -> Query:
        i = 0
        while i < len(self.tokens):
            i = self.step(i)
        groupings: list[Grouping] = []
        for keyword, labels, at in self.groupings:
            body = (
                _aggregation_body(self.tokens, self.closing, at)
                if keyword in ("by", "without")
                else None
            )
            scope = tuple(s for s in self.selectors if body is None or body[0] < s.at < body[1])
            groupings.append(Grouping(keyword, labels, scope))
        return Query(tuple(self.selectors), tuple(groupings), tuple(self.functions))


def parse(expr: str) -> Query:
    """The metric selectors, groupings and functions of a PromQL expression (what these
    checks need of it, not a full parser). Raises ValueError on what it cannot read."""
    return _Reader(expr).query()


# --- the checks, on any set of queries ---------------------------------------------------------


@dataclass(frozen=True)
class Known:
    """What the queries may name: sample names with their labels, and the target labels."""

    series: dict[str, frozenset[str]]
    target_labels: frozenset[str]

    def labels(self, name: str) -> frozenset[str]:
        recorded = ":" in name  # a recording rule's output: aggregated, no target labels
        return self.series[name] | (frozenset() if recorded else self.target_labels)


def _recorded(known: dict[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    """Each recording rule's series, with the labels it keeps (those of its `by` clauses)."""
    found: dict[str, frozenset[str]] = {}
    for group in _load_yaml(RECORDING)["groups"]:
        for rule in group["rules"]:
            try:
                query = parse(rule["expr"])
            except ValueError:
                continue  # test_rules_name_only_what_the_services_export says what is wrong
            kept = {label for g in query.groupings if g.keyword == "by" for label in g.labels}
            if not query.groupings:
                kept = {label for s in query.selectors for label in known.get(s.name, ())}
            found[rule["record"]] = frozenset(kept - {"le"})
    return found


def problems(where: str, expr: str, known: Known) -> list[str]:
    """What is wrong with one query: unknown metrics, labels, streams and groups."""
    try:
        query = parse(expr)
    except ValueError as exc:
        return [f"{where}: {exc}"]
    found: list[str] = []
    streams, groups = set(ALL_STREAMS), {g for gs in CONSUMER_GROUPS.values() for g in gs}
    for selector in query.selectors:
        if selector.name not in known.series:
            found.append(f"{where}: no service exports {selector.name!r}")
            continue
        labels = known.labels(selector.name)
        for matcher in selector.matchers:
            if matcher.label not in labels:
                found.append(f"{where}: {selector.name} has no label {matcher.label!r}")
            names = {"stream": streams, "group": groups}.get(matcher.label)
            if names is not None:
                found += _name_problems(where, matcher, names)
    for grouping in query.groupings:
        # An aggregation's `by`/`without` may name its body's labels; `on`/`ignoring`, any of
        # the expression's. Every raw sample also carries the target labels.
        allowed = set(known.target_labels)
        for selector in grouping.scope:
            if selector.name in known.series:
                allowed |= known.labels(selector.name)
        for label in grouping.labels:
            if label not in allowed:
                found.append(f"{where}: `{grouping.keyword} ({label})` names no label it has")
    return found


def _name_problems(where: str, matcher: Matcher, names: set[str]) -> list[str]:
    if matcher.op in ("=", "!="):
        if matcher.value not in names:
            return [f"{where}: {matcher.label}{matcher.op}{matcher.value!r} is no such name"]
        return []
    if "$" in matcher.value:  # a Grafana variable: checked where it is defined
        return []
    found: list[str] = []
    try:
        re.compile(matcher.value)
    except re.error as exc:
        return [f"{where}: bad regex {matcher.value!r}: {exc}"]
    for alternative in matcher.value.split("|"):
        if re.fullmatch(r"[\w:-]+", alternative) and alternative not in names:
            found.append(f"{where}: {matcher.label} regex names {alternative!r}, no such name")
    if not any(re.fullmatch(matcher.value, name) for name in names):
        found.append(f"{where}: {matcher.label}{matcher.op}{matcher.value!r} matches no name")
    return found


# --- what is checked ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def known() -> Known:
    series = _exported()
    series["up"] = frozenset()
    series.update(_recorded(series))
    return Known(series, _target_labels())


def _rules(path: Path) -> list[dict[str, Any]]:
    return [rule for group in _load_yaml(path)["groups"] for rule in group["rules"]]


def _alerts() -> list[dict[str, Any]]:
    return [rule for rule in _rules(ALERTS) if "alert" in rule]


def _dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return data


def _panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])  # a collapsed row holds its panels


def _rule_queries() -> list[tuple[str, str]]:
    return [
        (f"{path.name}: {rule.get('alert') or rule.get('record')}", rule["expr"])
        for path in RULE_FILES
        for rule in _rules(path)
    ]


def _dashboard_queries() -> list[tuple[str, str]]:
    return [
        (f"panel {panel['id']} {panel.get('title')!r} {target.get('refId')}", target["expr"])
        for panel in _panels(_dashboard())
        for target in panel.get("targets", [])
    ]


def test_the_exported_names_are_what_prometheus_sees(known: Known) -> None:
    """The expansion of the families gives the sample names prometheus_client itself reserves
    for them (family names aside), so a suffix rule cannot drift."""
    for registry in _registries():
        families = {family.name for family in registry.collect()}
        reserved = set(registry._names_to_collectors) - families
        assert set(_samples(registry)) - families == reserved
    assert "wirepress_stage_messages_total" in known.series
    assert "wirepress_stage_messages" not in known.series
    assert "wirepress_push_to_page_seconds_bucket" in known.series
    assert "faststream_received_processed_messages_total" in known.series
    assert "wirepress_ingest_backpressure_total" in known.series
    assert "wirepress_enrich_semantic_model_age_seconds" in known.series
    assert known.series["wirepress_stream_lag"] == {"stream", "group"}
    assert known.series["wirepress_s3_request_duration_seconds_bucket"] == {"operation", "le"}


def test_rules_name_only_what_the_services_export(known: Known) -> None:
    found = [p for where, expr in _rule_queries() for p in problems(where, expr, known)]
    assert not found, "\n".join(found)


def test_dashboard_names_only_what_the_services_export(known: Known) -> None:
    found = [p for where, expr in _dashboard_queries() for p in problems(where, expr, known)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("rate(wirepress_stage_messages[5m])", "no service exports 'wirepress_stage_messages'"),
        ("wirepress_stream_lagg", "no service exports 'wirepress_stream_lagg'"),
        ('max by (stream) (wirepress_stream_lag{grup="enrich"})', "no label 'grup'"),
        ("max by (groop) (wirepress_stream_lag)", "`by (groop)` names no label"),
        ("sum by (stream) (rate(wirepress_s3_requests_total[5m]))", "`by (stream)`"),
        ('wirepress_stream_lag{stream="wirepress:ingest"}', "'wirepress:ingest' is no such"),
        ('wirepress_stream_lag{group=~"enrich|rendr"}', "names 'rendr'"),
        ('wirepress_stream_lag{group=~"x.*"}', "matches no name"),
        ("rat(wirepress_s3_requests_total[5m])", "unknown function 'rat'"),
        ("sum(rate(wirepress_s3_requests_total[5m])", "unclosed"),
    ],
)
def test_a_wrong_query_is_caught(known: Known, expr: str, expected: str) -> None:
    found = problems("q", expr, known)
    assert any(expected in p for p in found), found


@pytest.mark.parametrize(
    ("expr", "metrics"),
    [
        (
            "histogram_quantile(0.99, sum by (le) (rate(wirepress_push_to_page_seconds_bucket"
            '{job=~"wirepress.*"}[$__rate_interval])))',
            {"wirepress_push_to_page_seconds_bucket"},
        ),
        (
            "max by (stream, group) (deriv(wirepress_stream_lag[10m])) > 0 and on (stream, group)"
            " max by (stream, group) (wirepress_stream_pending offset 5m) > 1e3",
            {"wirepress_stream_lag", "wirepress_stream_pending"},
        ),
        (
            'sum(rate(wirepress_s3_requests_total{outcome=~"server_error|network_error"}[5m]))'
            " / ignoring (outcome) sum(rate(wirepress_s3_requests_total[5m])) > bool 0.05",
            {"wirepress_s3_requests_total"},
        ),
        ('count(up{job="wirepress", instance!="by"} == 0) or vector(0)', {"up"}),
        (
            "min without (instance) (wirepress_enrich_semantic_model_age_seconds) > 2 * 86400",
            {"wirepress_enrich_semantic_model_age_seconds"},
        ),
        (
            '{__name__="wirepress_stream_length", stream="wirepress:site"}',
            {"wirepress_stream_length"},
        ),
    ],
)
def test_the_reader_finds_the_metrics_and_nothing_else(
    known: Known, expr: str, metrics: set[str]
) -> None:
    assert parse(expr).metrics == metrics
    assert problems("q", expr, known) == []


def test_every_alert_says_what_to_do() -> None:
    alerts = _alerts()
    names = [a["alert"] for a in alerts]
    assert len(names) == len(set(names)), "alert names repeat"
    for alert in alerts:
        where = alert["alert"]
        assert alert.get("for"), f"{where}: no `for:`"
        assert alert.get("labels", {}).get("severity") in ("page", "ticket"), where
        annotations = alert.get("annotations", {})
        for key in ("summary", "description", "runbook"):
            assert annotations.get(key), f"{where}: no {key} annotation"
        runbook = annotations["runbook"]
        assert re.search(r"`(wirepress |docker |kubectl |curl )", runbook), (
            f"{where}: the runbook names no command to run"
        )


def test_annotations_name_labels_the_alert_has(known: Known) -> None:
    for alert in _alerts():
        query = parse(alert["expr"])
        kept = {label for g in query.groupings if g.keyword == "by" for label in g.labels}
        if not any(g.keyword == "by" for g in query.groupings):
            kept = {label for s in query.selectors for label in known.labels(s.name)}
        text = " ".join(alert["annotations"].values())
        for label in re.findall(r"\$labels\.(\w+)", text):
            assert label in kept, f"{alert['alert']}: annotations use $labels.{label}"


def test_the_alerts_cover_the_pipeline() -> None:
    watched = {name for alert in _alerts() for name in parse(alert["expr"]).metrics}
    missing = set(ALERTS_REQUIRE) - watched
    assert not missing, f"no alert watches {sorted(missing)}"


def test_observer_lag_never_pages() -> None:
    """The desk's group (OBSERVERS) only watches: its lag and pending may open a ticket, never
    page. The paging backlog alerts must leave out exactly the observer groups, and some alert
    must still follow them."""
    groups = {g for gs in CONSUMER_GROUPS.values() for g in gs}
    observers = {g for gs in OBSERVERS.values() for g in gs}
    # Matching on the group alone is exact only while a group observes all it reads, or none.
    for group in observers:
        reads = {s for s, gs in CONSUMER_GROUPS.items() if group in gs}
        watches = {s for s, gs in OBSERVERS.items() if group in gs}
        assert reads == watches, f"{group} is an observer on some streams only: match on stream"
    followed: set[str] = set()
    for alert in _alerts():
        for selector in parse(alert["expr"]).selectors:
            if selector.name not in GROUP_GAUGES:
                continue
            accepted = {g for g in groups if selector.accepts("group", g)}
            if alert["labels"]["severity"] == "page":
                assert accepted == groups - observers, (
                    f"{alert['alert']}: {selector.name} should select the groups "
                    f"{sorted(groups - observers)}, selects {sorted(accepted)}"
                )
            elif selector.name == "wirepress_stream_lag":
                followed |= accepted & observers
    assert followed == observers, f"no ticket follows the lag of {sorted(observers - followed)}"


def test_every_alert_has_a_case_that_fires_it_and_one_that_does_not() -> None:
    fired: set[str] = set()
    quiet: set[str] = set()
    tests = _load_yaml(ALERTS_TEST)
    assert tests["rule_files"] == [p.name for p in RULE_FILES]
    for case in tests["tests"]:
        for check in case.get("alert_rule_test") or []:
            (fired if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {a["alert"] for a in _alerts()}
    assert names - fired == set(), f"never shown firing: {sorted(names - fired)}"
    assert names - quiet == set(), f"never shown quiet: {sorted(names - quiet)}"
    assert (fired | quiet) - names == set(), "alerts_test.yml tests alerts that do not exist"


def test_the_readme_explains_every_alert() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [a["alert"] for a in _alerts() if f"`{a['alert']}`" not in text]
    assert not missing, f"infra/monitoring/README.md does not explain {missing}"


def test_the_scrape_config_honours_the_pod_annotations() -> None:
    config = _load_yaml(CONFIG)
    for name in config["rule_files"]:
        assert (PROMETHEUS / name).is_file(), f"rule_files: {name} is not beside prometheus.yml"
    assert set(config["rule_files"]) == {p.name for p in RULE_FILES}
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert all(name.startswith("wirepress") for name in jobs), "up{job=~'wirepress.*'} misses one"
    kubernetes = [job for job in jobs.values() if job.get("kubernetes_sd_configs")]
    assert kubernetes, "no Kubernetes pod discovery"
    for job in kubernetes:
        assert [sd["role"] for sd in job["kubernetes_sd_configs"]] == ["pod"]
        relabels = job["relabel_configs"]
        sources = {
            annotation: [
                r for r in relabels if f"{prefix}{annotation}" in r.get("source_labels", [])
            ]
            for prefix in ["__meta_kubernetes_pod_annotation_prometheus_io_"]
            for annotation in ("scrape", "port", "path")
        }
        assert any(r.get("action") == "keep" and r["regex"] == "true" for r in sources["scrape"])
        assert any(r.get("target_label") == "__address__" for r in sources["port"])
        assert any(r.get("target_label") == "__metrics_path__" for r in sources["path"])


def test_the_local_targets_are_the_compose_services() -> None:
    services = _load_yaml(COMPOSE_FILE)["services"]
    found = [
        (name, str(dns["port"]))
        for job in _load_yaml(CONFIG)["scrape_configs"]
        for dns in job.get("dns_sd_configs") or []
        for name in dns["names"]
    ]
    assert found, "no DNS-discovered job for the local stack"
    pipeline = {"ingest", "enrich", "render", "publish", "desk"}
    assert pipeline <= {name for name, _ in found}, "a service of the stack is not scraped"
    for host, port in found:
        assert host in services, f"{host}: no such compose service"
        ports = [str(p).split(":")[-1] for p in services[host].get("ports", [])]
        ports += [str(p) for p in services[host].get("expose", [])]
        assert port in ports, f"{host}:{port}: {host} listens on {ports}"
    prometheus = services["prometheus"]
    assert "monitoring" in prometheus.get("profiles", [])
    mounted = " ".join(str(v) for v in prometheus.get("volumes", []))
    assert "infra/monitoring/prometheus" in mounted


def test_the_dashboard_is_well_formed() -> None:
    dashboard = _dashboard()
    assert dashboard["title"] == "Wirepress pipeline"
    assert dashboard["uid"]
    assert dashboard["schemaVersion"] >= 36
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    panels = list(_panels(dashboard))
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), f"panel ids repeat: {sorted(ids)}"
    taken: dict[tuple[int, int], int] = {}
    for panel in panels:
        where = f"panel {panel['id']} {panel.get('title')!r}"
        grid = panel["gridPos"]
        assert {"h", "w", "x", "y"} <= grid.keys(), where
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, f"{where}: wider than the grid"
        for cell in ((x, y) for x in range(grid["x"], grid["x"] + grid["w"])
                     for y in range(grid["y"], grid["y"] + grid["h"])):  # fmt: skip
            assert cell not in taken, f"{where} overlaps panel {taken[cell]}"
            taken[cell] = panel["id"]
        if panel["type"] == "row":
            continue
        assert panel.get("datasource") == DATASOURCE, f"{where}: datasource"
        assert panel.get("targets"), f"{where}: no targets"
        refs = [t.get("refId") for t in panel["targets"]]
        assert len(refs) == len(set(refs)) and all(refs), f"{where}: refIds"
        for target in panel["targets"]:
            assert target.get("expr"), f"{where}: a target without expr"
            assert "legendFormat" in target, f"{where}: a target without legendFormat"
            assert target.get("datasource") == DATASOURCE, f"{where}: target datasource"


def test_the_dashboard_shows_the_pipeline() -> None:
    shown = {name for _, expr in _dashboard_queries() for name in parse(expr).metrics}
    missing = set(DASHBOARD_REQUIRES) - shown
    assert not missing, f"no panel shows {sorted(missing)}"
