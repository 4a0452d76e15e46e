"""End-to-end benchmark of the pipeline: ingest HTTP -> enrich -> render -> publish (S3).

Starts a fresh local stack of its own (Valkey, SeaweedFS and the four services as processes, via
`wirepress stack up --root <temp dir>`), pushes N synthetic ninjs stories to ingest with an async
httpx client, reads `wirepress:published` until every story has an ArticlePublished "written", and
reports throughput, latency and CPU seconds per story of every process. The stack is stopped at the
end, also on error, Ctrl-C or SIGTERM.

Load model: CLOSED loop by default -- `--concurrency` senders each push their next story as soon as
the previous one is answered, so ingest runs as fast as it can accept and the rest of the pipeline
works through a backlog at its own top speed: the end-to-end figure is the pipeline's capacity.
With `--rate R` it is an OPEN loop instead: stories are due on a fixed R/s schedule (the senders
only carry it out), so latency is the latency at that offered load, not queueing behind a backlog.

    python bench/bench_pipeline.py --stories 2000 --out bench/results/pipeline.json
    python bench/bench_pipeline.py --stories 2000 --rate 60 --out /tmp/open.json
    python bench/bench_pipeline.py --stories 2000 --replicas enrich=2 --out /tmp/r.json
    python bench/bench_pipeline.py --stories 1000 --profile /tmp/prof  # py-spy every service
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import platform
import random
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from faststream.redis.parser.binary import BinaryMessageFormatV1  # noqa: E402
from redis.asyncio import Redis  # noqa: E402
from redis.exceptions import ResponseError  # noqa: E402

from shared import devstack, stack  # noqa: E402
from shared.events import ArticlePublished  # noqa: E402
from shared.models import article_id_for  # noqa: E402
from shared.streams import CONSUMER_GROUPS, PUBLISHED  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")

# --------------------------------------------------------------------------------------------
# Synthetic stories
# --------------------------------------------------------------------------------------------

# fmt: off
TOPICS: dict[str, dict[str, Any]] = {
    "conflict": {
        "subjects": [
            ("20000062", "war"), ("20000056", "armed conflict"), ("20000598", "defence"),
        ],
        "places": [
            "Kyiv", "Kharkiv", "Donetsk", "Zaporizhzhia", "Kursk", "Odesa", "Sudzha", "Bakhmut",
            "Kherson", "Moscow", "Belgorod", "Pokrovsk",
        ],
        "people": [
            ("Volodymyr Zelensky", "president"), ("Oleksandr Syrskyi", "army chief"),
            ("Andriy Sybiha", "foreign minister"), ("Dmitry Peskov", "Kremlin spokesman"),
            ("Maria Lindqvist", "defence analyst"), ("Rustem Umerov", "defence minister"),
        ],
        "orgs": [
            "the general staff", "NATO", "the defence ministry", "the United Nations",
            "the International Atomic Energy Agency", "the European Union",
        ],
        "nouns": [
            "drone strikes", "artillery fire", "air defences", "armoured brigades",
            "the front line", "reserves", "a prisoner exchange", "the power grid",
            "ballistic missiles", "minefields", "a ceasefire proposal", "supply lines",
        ],
        "verbs": [
            "pushed deeper into", "shelled", "withdrew from", "reinforced", "struck",
            "recaptured villages near", "evacuated residents from", "targeted",
        ],
        "headlines": [
            "{org_c} says {noun} hit {place}", "Fighting intensifies near {place}",
            "{person} vows to hold {place} as {noun} continue", "Ukrainian forces {verb} {place}",
            "Residents flee {place} after {noun}",
        ],
    },
    "politics": {
        "subjects": [
            ("11000000", "politics"), ("20000587", "parliament"), ("20000574", "elections"),
        ],
        "places": [
            "Nairobi", "Mombasa", "Berlin", "Paris", "Brasilia", "New Delhi", "Lagos",
            "Westminster", "Canberra", "Ottawa", "Pretoria", "Jakarta",
        ],
        "people": [
            ("William Ruto", "president"), ("Olaf Scholz", "chancellor"),
            ("Raila Odinga", "opposition leader"), ("Moses Wetangula", "speaker"),
            ("Amina Mohamed", "cabinet secretary"), ("Keir Starmer", "prime minister"),
        ],
        "orgs": [
            "the National Assembly", "the ruling coalition", "the electoral commission",
            "the Senate", "the supreme court", "the finance committee",
        ],
        "nouns": [
            "the finance bill", "a no-confidence vote", "new taxes on fuel", "the budget",
            "a cabinet reshuffle", "protesters", "the coalition talks", "turnout",
            "constitutional reform", "the opposition", "early elections",
        ],
        "verbs": [
            "debated", "passed", "rejected", "amended", "postponed a vote on", "challenged",
            "defended", "called for",
        ],
        "headlines": [
            "Lawmakers in {place} {verb} {noun}", "{person} faces pressure over {noun}",
            "{org_c} {verb} {noun}", "Protests grow in {place} over {noun}",
            "{person} calls for {noun}",
        ],
    },
    "economy": {
        "subjects": [
            ("04000000", "economy, business and finance"), ("20000350", "central bank"),
            ("20000344", "inflation"),
        ],
        "places": [
            "Tokyo", "Frankfurt", "Washington", "London", "Beijing", "Mumbai", "Sao Paulo",
            "Zurich", "Singapore", "Seoul", "Toronto", "Johannesburg",
        ],
        "people": [
            ("Kazuo Ueda", "governor"), ("Christine Lagarde", "ECB president"),
            ("Jerome Powell", "Fed chair"), ("Andrew Bailey", "governor"),
            ("Priya Natarajan", "chief economist"), ("Lars Feld", "economist"),
        ],
        "orgs": [
            "the Bank of Japan", "the European Central Bank", "the Federal Reserve",
            "the Bank of England", "the International Monetary Fund", "the finance ministry",
        ],
        "nouns": [
            "interest rates", "inflation", "the yen", "bond yields", "wage growth",
            "consumer prices", "the jobs report", "quantitative tightening", "the housing market",
            "exports", "a recession", "the currency",
        ],
        "verbs": [
            "raised", "cut", "held steady", "warned about", "signalled a pause in",
            "revised its forecast for", "intervened to support", "tightened",
        ],
        "headlines": [
            "{org_c} {verb} {noun}", "{person} signals caution on {noun}",
            "Markets in {place} react as {org} {verb} {noun}",
            "{noun_c} surprise economists in {place}", "{person} warns on {noun}",
        ],
    },
    "climate": {
        "subjects": [
            ("06000000", "environment"), ("20000418", "climate change"),
            ("20000249", "renewable energy"),
        ],
        "places": [
            "Rajasthan", "Gujarat", "Dubai", "Bonn", "Nairobi", "Queensland", "Texas",
            "California", "Chile", "Morocco", "Denmark", "Baku",
        ],
        "people": [
            ("Simon Stiell", "UN climate chief"), ("Sultan al-Jaber", "summit president"),
            ("Anita Rao", "energy analyst"), ("Wanjira Mathai", "campaigner"),
            ("Fatih Birol", "IEA director"), ("Helena Costa", "grid operator"),
        ],
        "orgs": [
            "the International Energy Agency", "the climate secretariat", "the energy ministry",
            "the grid operator", "developers", "the utility",
        ],
        "nouns": [
            "solar capacity", "battery storage", "an auction", "emissions", "a heatwave",
            "wind farms", "coal plants", "carbon prices", "the energy transition", "drought",
            "green hydrogen", "transmission lines",
        ],
        "verbs": [
            "approved", "expanded", "delayed", "awarded contracts for", "phased out", "doubled",
            "invested in", "warned about",
        ],
        "headlines": [
            "{place} {verb} {noun}", "{org_c} sees record {noun}",
            "{person} urges action on {noun}", "Heat pushes {place} to limit",
            "{noun_c} surge in {place} as prices fall",
        ],
    },
    "football": {
        "subjects": [
            ("15000000", "sport"), ("20000851", "football"), ("20000822", "sport competition"),
        ],
        "places": [
            "Nairobi", "Madrid", "Manchester", "Munich", "Milan", "Dallas", "Doha", "Lagos",
            "Buenos Aires", "Lisbon", "Marseille", "Casablanca",
        ],
        "people": [
            ("Sebastien Migne", "coach"), ("Michael Olunga", "striker"),
            ("Carlo Ancelotti", "manager"), ("Pep Guardiola", "manager"),
            ("Aitana Bonmati", "midfielder"), ("Vinicius Junior", "forward"),
        ],
        "orgs": [
            "FIFA", "the football federation", "the league", "UEFA", "the club",
            "the players' union",
        ],
        "nouns": [
            "the World Cup", "a late equaliser", "the qualifiers", "the transfer window",
            "a penalty shootout", "the title race", "heat breaks", "the group stage",
            "a hamstring injury", "the final", "relegation", "the squad",
        ],
        "verbs": [
            "won", "drew", "lost", "qualified for", "named the squad for", "was knocked out of",
            "celebrated", "criticised",
        ],
        "headlines": [
            "{person} {verb} {noun}", "Late drama in {place} as {noun} decided",
            "{org_c} confirms {noun}", "Harambee Stars {verb} {noun}",
            "{noun_c} looms for {place} side",
        ],
    },
    "technology": {
        "subjects": [
            ("13000000", "science and technology"), ("20000763", "artificial intelligence"),
            ("20000619", "regulation"),
        ],
        "places": [
            "Brussels", "San Francisco", "Seattle", "Shenzhen", "Bangalore", "London", "Tallinn",
            "Seoul", "Taipei", "Dublin", "Austin", "Helsinki",
        ],
        "people": [
            ("Margrethe Vestager", "commissioner"), ("Sam Altman", "chief executive"),
            ("Lina Khan", "regulator"), ("Jensen Huang", "chief executive"),
            ("Ada Okafor", "researcher"), ("Thierry Breton", "commissioner"),
        ],
        "orgs": [
            "the European Commission", "the AI Office", "regulators", "chipmakers",
            "the data protection authority", "the start-up",
        ],
        "nouns": [
            "the AI Act", "high-risk systems", "chip exports", "large language models",
            "data centres", "guidance", "facial recognition", "a cyberattack",
            "semiconductor supply", "open-source models", "privacy rules", "cloud prices",
        ],
        "verbs": [
            "published", "fined", "restricted", "launched", "investigated", "delayed rules on",
            "unveiled", "banned",
        ],
        "headlines": [
            "{org_c} {verb} {noun}", "{person} defends {noun}", "{place} bets on {noun}",
            "New rules on {noun} take effect", "{noun_c} under scrutiny in {place}",
        ],
    },
    "health": {
        "subjects": [
            ("07000000", "health"), ("20000446", "disease"), ("20000464", "vaccine"),
        ],
        "places": [
            "Geneva", "Kinshasa", "Dhaka", "Lima", "Kampala", "Manila", "Atlanta", "Accra",
            "Hanoi", "Karachi", "Madrid", "Harare",
        ],
        "people": [
            ("Tedros Adhanom Ghebreyesus", "WHO chief"), ("Jean Kaseya", "Africa CDC head"),
            ("Mandy Cohen", "CDC director"), ("Sarah Mbeki", "epidemiologist"),
            ("Rahul Desai", "health minister"), ("Elena Ruiz", "virologist"),
        ],
        "orgs": [
            "the World Health Organization", "Africa CDC", "the health ministry", "hospitals",
            "Gavi", "the regulator",
        ],
        "nouns": [
            "an outbreak", "vaccination campaigns", "mpox cases", "a cholera outbreak",
            "hospital admissions", "drug prices", "a new vaccine", "dengue",
            "antibiotic resistance", "clinical trials", "nurses' pay", "malaria",
        ],
        "verbs": [
            "declared an emergency over", "rolled out", "reported a rise in", "approved",
            "contained", "warned about", "funded", "tracked",
        ],
        "headlines": [
            "{org_c} {verb} {noun}", "{place} battles {noun}", "{person} warns of {noun}",
            "Cases climb in {place} amid {noun}", "{noun_c} reach {place}",
        ],
    },
}
# fmt: on

SENTENCES = [
    "{person_full}, the {role}, said on {day} that {noun} would shape the coming weeks in {place}.",
    "Officials in {place} said {org} had {verb} {noun} after talks that ran late into the night.",
    '"We are watching {noun} very closely," {person} told reporters in {place}.',
    "The move comes after {org} {verb} {noun}, according to people familiar with the matter.",
    "Analysts said {noun} and {noun2} were now the main risks for {place}.",
    "{org_c} has {verb} {noun} {num} times this year, figures published on {day} showed.",
    "In {place}, residents described {noun} as the worst they could remember.",
    "{person_full} did not respond to a request for comment on {noun}.",
    "Critics argue that {noun} has done little to address {noun2} in {place} and beyond.",
    "A statement from {org} said it {verb} {noun} to protect people in {place}.",
    "The figures suggest {noun} rose by {num} percent compared with the same period last year.",
    '"There is no quick fix for {noun}," said {person_full}, the {role}.',
    "Earlier, {org} {verb} {noun2}, a decision that surprised many in {place2}.",
    "Talks between {org} and officials from {place2} are expected to resume on {day}.",
    "Some {num} people gathered in {place} on {day}, according to local media.",
    "The {role} added that {noun2} would be reviewed before the end of the month.",
    "Observers in {place2} said the developments could ripple far beyond {place}.",
    "Data from {org} showed {noun} had {verb2} over the past {num} days.",
]
SUBHEADS = ["What happens next", "A long road", "Reaction", "Background", "The numbers"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
BYLINES = [
    "Olena Marchenko",
    "David Otieno",
    "Hiroshi Tanaka",
    "Ana Ferreira",
    "Sam Whitfield",
    "Priya Menon",
    "Lucas Moreau",
    "Grace Wanjiru",
    "Tom Becker",
    "Leila Haddad",
]
BASE_TIME = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def make_story(rng: random.Random, index: int, namespace: str) -> dict[str, Any]:
    """One ninjs 1.x text story: 5-8 paragraphs, ~300-500 words, on one (sometimes two) topics."""
    name = rng.choice(list(TOPICS))
    topic = TOPICS[name]
    # A story follows a "storyline": a few of its topic's entities, so related stories share them.
    places = rng.sample(topic["places"], 3)
    people = rng.sample(topic["people"], 3)
    orgs = rng.sample(topic["orgs"], 3)
    second = TOPICS[rng.choice(list(TOPICS))] if rng.random() < 0.2 else topic

    def fill(template: str, mix: bool = True) -> str:
        src = second if mix and rng.random() < 0.15 else topic
        person, role = rng.choice(people if src is topic else src["people"])
        values = {
            "person_full": person,
            "person": person.split()[-1],
            "role": role,
            "place": rng.choice(places if src is topic else src["places"]),
            "place2": rng.choice(src["places"]),
            "org": rng.choice(orgs if src is topic else src["orgs"]),
            "noun": rng.choice(src["nouns"]),
            "noun2": rng.choice(src["nouns"]),
            "verb": rng.choice(src["verbs"]),
            "verb2": rng.choice(["risen", "fallen", "stalled", "doubled", "eased"]),
            "num": str(rng.choice([2, 3, 5, 7, 12, 15, 20, 40, 120, 300, 1500])),
            "day": rng.choice(DAYS),
        }
        values["org_c"] = _cap(values["org"])
        values["noun_c"] = _cap(values["noun"])
        return _cap(template.format(**values))

    target_words = rng.randint(300, 500)
    n_paragraphs = rng.randint(5, 8)
    per_paragraph = target_words / n_paragraphs
    blocks: list[str] = []
    words = 0
    for p in range(n_paragraphs):
        sentences: list[str] = []
        count = 0
        while count < per_paragraph * 0.9 or not sentences:
            sentence = fill(rng.choice(SENTENCES))
            sentences.append(sentence)
            count += len(sentence.split())
        words += count
        if p in (3, 5) and rng.random() < 0.4:
            blocks.append(f"<h2>{rng.choice(SUBHEADS)}</h2>")
        blocks.append(f"<p>{' '.join(sentences)}</p>")
    created = BASE_TIME + timedelta(minutes=index * 7 + rng.randint(0, 6))
    stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    headline = fill(rng.choice(topic["headlines"]), mix=False)
    return {
        "uri": f"urn:wirepress:bench:{namespace}:{index:06d}",
        "type": "text",
        "version": "1",
        "firstcreated": stamp,
        "versioncreated": stamp,
        "pubstatus": "usable",
        "language": "en",
        "urgency": rng.randint(2, 5),
        "headline": headline,
        "byline": f"By {rng.choice(BYLINES)}",
        "located": places[0],
        "description_text": fill(rng.choice(SENTENCES)),
        "body_html": "\n".join(blocks),
        "subject": [
            {"scheme": "medtop", "code": code, "name": label}
            for code, label in rng.sample(topic["subjects"], 2)
        ],
        "keywords": [places[0], people[0][0], *rng.sample(topic["nouns"], 2)],
        "usageterms": "Wirepress benchmark: synthetic text, not news.",
        "_words": words,  # dropped before sending
    }


def make_stories(count: int, seed: int, namespace: str) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [make_story(rng, i, namespace) for i in range(count)]


# --------------------------------------------------------------------------------------------
# Stack, processes, CPU
# --------------------------------------------------------------------------------------------


def _on_sigterm(signum: int, frame: Any) -> None:
    # Treated like Ctrl-C (a BaseException, which asyncio never swallows): the stack is stopped.
    raise KeyboardInterrupt(f"signal {signum}")


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (all its threads), in seconds; None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all cores), from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / CLK_TCK


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


@dataclass
class BenchStack:
    root: Path
    keep: bool = False
    env: dict[str, str] = field(default_factory=dict)
    pids: dict[str, int] = field(default_factory=dict)
    extra: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    started: bool = False

    @property
    def var(self) -> Path:
        return self.root / "var"

    def _cli(self, action: str) -> subprocess.Popen[bytes]:
        # Run as a child process in its own session: its services are re-parented when it exits
        # (nothing left for us to reap), and a Ctrl-C here does not cut `up` or `down` half-way.
        return subprocess.Popen(
            [sys.executable, "-m", "services.cli", "stack", action, "--root", str(self.root)],
            cwd=ROOT,
            # The production refresh window (the local stack's default is a demo's 3 s), unless
            # the caller sets one.
            env={
                **os.environ,
                "RELATED_REFRESH_DELAY_S": os.environ.get("RELATED_REFRESH_DELAY_S", "30"),
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def up(self) -> None:
        self.started = True
        proc = self._cli("up")
        try:
            out, _ = proc.communicate(timeout=180)
        except BaseException:
            with contextlib.suppress(BaseException):
                proc.wait(180)
            raise
        if proc.returncode != 0:
            raise RuntimeError(f"stack up failed:\n{out.decode(errors='replace')}")
        self.env = stack.read_env(self.var / "stack.env")
        self.pids = json.loads((self.var / "run" / "pids.json").read_text())

    def add_replica(self, name: str, number: int) -> None:
        port = devstack.free_port()
        proc = devstack.start_service(
            name,
            {**self.env, "HEALTH_PORT": str(port), "CONSUMER_NAME": f"{name}-bench-{number}"},
            self.var / "log" / f"{name}-{number}.log",
        )
        label = f"{name}#{number}"
        self.extra[label] = proc
        devstack.wait_until(lambda: devstack.healthy(port), 60, label, proc)
        self.pids[label] = proc.pid

    def down(self) -> None:
        for proc in self.extra.values():
            devstack.stop(proc, timeout=20)
        if self.started:
            proc = self._cli("down")
            while True:
                try:
                    proc.wait(300)
                    break
                except KeyboardInterrupt:
                    print("still stopping the stack...", file=sys.stderr)
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 15) -> str:
        out = []
        for log in sorted((self.var / "log").glob("*.log")):
            text = log.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {log.name}\n" + "\n".join(text))
        return "\n".join(out)


# --------------------------------------------------------------------------------------------
# Load and measurement
# --------------------------------------------------------------------------------------------


@dataclass
class Run:
    accepted_at: dict[str, float] = field(default_factory=dict)  # article_id -> wall time of 202
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    retries: int = 0
    errors: list[str] = field(default_factory=list)
    first_sent: float = 0.0
    last_answer: float = 0.0
    published_at: dict[str, float] = field(default_factory=dict)  # article_id -> occurred_at
    outcomes: collections.Counter[str] = field(default_factory=collections.Counter)


async def push_all(
    client: httpx.AsyncClient,
    token: str,
    bodies: list[tuple[str, bytes]],
    concurrency: int,
    rate: float,
    run: Run,
) -> None:
    queue: asyncio.Queue[tuple[int, str, bytes]] = asyncio.Queue()
    for i, (article_id, body) in enumerate(bodies):
        queue.put_nowait((i, article_id, body))
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    start = time.monotonic()
    run.first_sent = time.time()

    async def sender() -> None:
        while not queue.empty():
            i, article_id, body = queue.get_nowait()
            if rate > 0:  # open loop: story i is due at start + i/rate, whatever came before
                delay = start + i / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            for attempt in range(20):
                try:
                    response = await client.post("/v1/stories", content=body, headers=headers)
                except httpx.HTTPError as exc:
                    run.retries += 1
                    if attempt == 19:
                        run.errors.append(f"{article_id}: {exc!r}")
                    await asyncio.sleep(0.2)
                    continue
                now = time.time()
                run.statuses[response.status_code] += 1
                if response.status_code == 503:
                    run.retries += 1
                    await asyncio.sleep(0.5)
                    continue
                if response.status_code == 202:
                    run.accepted_at[article_id] = now
                else:
                    run.errors.append(f"{article_id}: HTTP {response.status_code} {response.text}")
                run.last_answer = now
                break

    await asyncio.gather(*(sender() for _ in range(concurrency)))


async def follow_published(
    redis: Redis, wanted: set[str], run: Run, done: asyncio.Event, start_id: str = "0"
) -> str:
    """Read the published stream from `start_id` until every wanted article was written."""
    last = start_id
    while not done.is_set():
        reply = await redis.xread({PUBLISHED: last}, count=1000, block=500)
        for _stream, entries in reply or []:
            for entry_id, fields in entries:
                last = entry_id.decode()
                body, _ = BinaryMessageFormatV1.parse(fields[b"__data__"])
                event = ArticlePublished.model_validate_json(body)
                if event.article_id not in wanted:
                    continue
                run.outcomes[event.outcome] += 1
                if event.outcome == "written" and event.article_id not in run.published_at:
                    run.published_at[event.article_id] = event.occurred_at.timestamp()
        if wanted.issubset(run.published_at):
            break
    return last


async def settle(
    redis: Redis,
    position: str,
    wanted: set[str] | None,
    run: Run | None,
    quiet: float,
    limit: float,
) -> str:
    """Wait until the pipeline is idle: no consumer group with lag or pending entries and nothing
    new on the published stream for `quiet` seconds (follow-on work such as the related-link
    refreshes that republish earlier stories lands within that). Returns the stream position."""
    start = last_activity = time.monotonic()
    while time.monotonic() - start < limit:
        reply = await redis.xread({PUBLISHED: position}, count=1000, block=250)
        for _stream, entries in reply or []:
            for entry_id, fields in entries:
                position = entry_id.decode()
                last_activity = time.monotonic()
                if run is not None:
                    body, _ = BinaryMessageFormatV1.parse(fields[b"__data__"])
                    event = ArticlePublished.model_validate_json(body)
                    if wanted is None or event.article_id in wanted:
                        run.outcomes[event.outcome] += 1
        for stream in CONSUMER_GROUPS:
            with contextlib.suppress(ResponseError):
                for group in await redis.xinfo_groups(stream):
                    if (group.get("lag") or 0) or group.get("pending"):
                        last_activity = time.monotonic()
        if time.monotonic() - last_activity >= quiet:
            break
    return position


async def dead_letters(redis: Redis) -> dict[str, int]:
    counts = {}
    async for key in redis.scan_iter(match="wirepress:*:dead", count=1000):
        counts[key.decode()] = int(await redis.xlen(key))
    return counts


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def per_second(times: list[float], origin: float) -> list[int]:
    if not times:
        return []
    bins = [0] * (int(max(times) - origin) + 1)
    for t in times:
        bins[max(0, int(t - origin))] += 1
    return bins


# --------------------------------------------------------------------------------------------
# py-spy
# --------------------------------------------------------------------------------------------


def start_profilers(pids: dict[str, int], outdir: Path) -> dict[str, subprocess.Popen[bytes]]:
    outdir.mkdir(parents=True, exist_ok=True)
    py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
    # --gil: only samples holding the GIL, i.e. Python code running rather than waiting.
    options = "record --pid {pid} --format raw --rate 50 --gil --nonblocking"
    procs = {}
    for name, pid in pids.items():
        if name in ("valkey", "seaweedfs"):
            continue
        procs[name] = subprocess.Popen(
            [py_spy, *options.format(pid=pid).split(), "--output", str(outdir / f"{name}.txt")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    return procs


def stop_profilers(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    for proc in procs.values():
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGINT)
    for proc in procs.values():
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")
# Frames every stack passes through: they say nothing about where the time goes.
_PLUMBING = (
    "<frozen", "threading.py", "asyncio/", "uvicorn/", "services/cli.py", "concurrent/futures/",
    "selectors.py", "contextlib.py", "anyio/", "starlette/",
)  # fmt: skip


def summarise_profile(path: Path, top: int = 8) -> dict[str, Any]:
    """Top functions of a py-spy raw (collapsed) profile: shares of the samples in which the
    function is on top of the stack (self), or anywhere in it (inclusive; our own code, and
    libraries minus the event loop / thread pool / server plumbing)."""
    self_: collections.Counter[str] = collections.Counter()
    ours: collections.Counter[str] = collections.Counter()
    libs: collections.Counter[str] = collections.Counter()
    total = 0
    if not path.exists():
        return {"samples": 0}
    for line in path.read_text(errors="replace").splitlines():
        stack_text, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = []
        for frame in stack_text.split(";"):
            match = _FRAME.match(frame)
            frames.append((match["func"], match["file"]) if match else (frame, ""))
        if frames:
            self_["{} ({})".format(*frames[-1])] += count
        for func, file in set(frames):
            label = f"{func} ({file})"
            if file.startswith(("services/", "shared/")):
                ours[label] += count
            elif not file.startswith(_PLUMBING) and file:
                libs[label] += count
    if not total:
        return {"samples": 0}

    def share(counter: collections.Counter[str]) -> list[list[Any]]:
        return [[name, round(n / total, 3)] for name, n in counter.most_common(top)]

    return {
        "samples": total,
        "self": share(self_),
        "inclusive_ours": share(ours),
        "inclusive_libraries": share(libs),
    }


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def parse_replicas(text: str) -> dict[str, int]:
    replicas: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, count = part.partition("=")
        if name not in devstack.SERVICES or not count.isdigit() or int(count) < 1:
            raise argparse.ArgumentTypeError(f"bad replica spec {part!r} (e.g. enrich=2)")
        if name == "ingest" and int(count) != 1:
            raise argparse.ArgumentTypeError("ingest has one replica (it owns the HTTP port)")
        replicas[name] = int(count)
    return replicas


async def measure(args: argparse.Namespace, bench: BenchStack) -> dict[str, Any]:
    namespace = f"s{args.seed}"
    stories = make_stories(args.stories + args.warmup, args.seed, namespace)
    words = [s.pop("_words") for s in stories]
    bodies = [
        (article_id_for(s["uri"]), json.dumps(s, ensure_ascii=False).encode()) for s in stories
    ]
    warm, measured = bodies[: args.warmup], bodies[args.warmup :]
    token = bench.env["INGEST_TOKEN"]
    redis = Redis.from_url(bench.env["REDIS_URL"])
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    client = httpx.AsyncClient(base_url=bench.env["INGEST_URL"], timeout=60, limits=limits)
    profilers: dict[str, subprocess.Popen[bytes]] = {}
    try:
        position = "0"
        if warm:  # first story through each service pays for imports, template compiles, pools
            warm_run = Run()
            await push_all(client, token, warm, min(4, args.concurrency), 0, warm_run)
            done = asyncio.Event()
            position = await asyncio.wait_for(
                follow_published(redis, set(warm_run.accepted_at), warm_run, done), 120
            )
        # Let the warm-up's follow-on work (front page, link refreshes) finish before measuring.
        position = await settle(redis, position, None, None, args.settle, 60)
        if args.profile:
            profilers = start_profilers(bench.pids, Path(args.profile))
            await asyncio.sleep(1.0)
        cpu_before = {name: cpu_seconds(pid) for name, pid in bench.pids.items()}
        self_before = resource.getrusage(resource.RUSAGE_SELF)
        load_before = os.getloadavg()
        machine_before = machine_busy_seconds()

        run = Run()
        wanted = {article_id for article_id, _ in measured}
        done = asyncio.Event()
        reader = asyncio.create_task(follow_published(redis, wanted, run, done, position))
        t0 = time.monotonic()

        async def progress() -> None:
            while True:
                await asyncio.sleep(5)
                print(
                    f"  {time.monotonic() - t0:6.1f}s accepted {len(run.accepted_at):5d}"
                    f"  written {len(run.published_at):5d}",
                    flush=True,
                )

        ticker = asyncio.create_task(progress())
        try:
            await push_all(client, token, measured, args.concurrency, args.rate, run)
            accepted = set(run.accepted_at)
            if accepted != wanted:
                # Wait only for what was accepted.
                wanted.intersection_update(accepted)
            await asyncio.wait_for(asyncio.shield(reader), args.timeout)
        except TimeoutError:
            print(f"timed out after {args.timeout}s waiting for publications", file=sys.stderr)
        finally:
            done.set()
            ticker.cancel()
            with contextlib.suppress(BaseException):
                position = await asyncio.wait_for(reader, 5)
        wall = time.monotonic() - t0
        cpu_after = {name: cpu_seconds(pid) for name, pid in bench.pids.items()}
        self_after = resource.getrusage(resource.RUSAGE_SELF)
        load_after = os.getloadavg()
        machine_after = machine_busy_seconds()
        cpu_settled = cpu_after
        settle_s = 0.0
        if args.settle > 0:
            print(f"  waiting for the pipeline to go idle ({args.settle}s quiet) ...", flush=True)
            t1 = time.monotonic()
            position = await settle(redis, position, wanted, run, args.settle, 300)
            settle_s = time.monotonic() - t1
            cpu_settled = {name: cpu_seconds(pid) for name, pid in bench.pids.items()}
        dead = await dead_letters(redis)
    finally:
        stop_profilers(profilers)
        await client.aclose()
        await redis.aclose()

    # ---- numbers
    n_written = sum(1 for a in run.accepted_at if a in run.published_at)
    latencies = sorted(
        run.published_at[a] - t for a, t in run.accepted_at.items() if a in run.published_at
    )
    accepted_times = sorted(run.accepted_at.values())
    published_times = sorted(run.published_at[a] for a in run.accepted_at if a in run.published_at)
    first_202 = accepted_times[0] if accepted_times else float("nan")
    last_202 = accepted_times[-1] if accepted_times else float("nan")
    last_pub = published_times[-1] if published_times else float("nan")
    e2e_span = last_pub - first_202
    steady = float("nan")
    if len(published_times) >= 20:
        lo, hi = int(0.1 * len(published_times)), int(0.9 * len(published_times))
        steady = (hi - lo) / (published_times[hi] - published_times[lo])
    cpu: dict[str, Any] = {}
    total_cpu = total_settled = 0.0
    for name in bench.pids:
        before, after, settled = cpu_before.get(name), cpu_after.get(name), cpu_settled.get(name)
        if before is None or after is None or settled is None:
            cpu[name] = None
            continue
        used = after - before
        total_cpu += used
        total_settled += settled - before
        cpu[name] = {
            "cpu_s": round(used, 3),
            "ms_per_story": round(1000 * used / max(n_written, 1), 3),
            "ms_per_story_until_idle": round(1000 * (settled - before) / max(n_written, 1), 3),
            "busy_share_of_one_core": round(used / e2e_span, 3) if e2e_span > 0 else None,
        }
    bench_cpu = (self_after.ru_utime + self_after.ru_stime) - (
        self_before.ru_utime + self_before.ru_stime
    )
    cpu["bench-client"] = {
        "cpu_s": round(bench_cpu, 3),
        "ms_per_story": round(1000 * bench_cpu / max(n_written, 1), 3),
        "busy_share_of_one_core": round(bench_cpu / e2e_span, 3) if e2e_span > 0 else None,
    }
    # Whatever else ran on the machine meanwhile (other stacks, tests, builds) competed for cores.
    others = (machine_after - machine_before) - total_cpu - bench_cpu
    services = [n for n in bench.pids if n not in ("valkey", "seaweedfs") and cpu.get(n)]
    services_cpu = sum(cpu[n]["cpu_s"] for n in services)
    services_idle = sum(cpu[n]["ms_per_story_until_idle"] for n in services)
    first_writes = n_written
    follow_on = run.outcomes.get("written", 0) + run.outcomes.get("unchanged", 0) - first_writes
    return {
        "counts": {
            "stories": len(measured),
            "warmup_stories": len(warm),
            "accepted_202": len(run.accepted_at),
            "http_statuses": {str(k): v for k, v in sorted(run.statuses.items())},
            "retries": run.retries,
            "errors": run.errors[:20],
            "written": n_written,
            "outcomes": dict(run.outcomes),
            "follow_on_publications": follow_on,
            "missing": len(run.accepted_at) - n_written,
            "dead_letters": dead,
            "dead_letters_total": sum(dead.values()),
        },
        "throughput": {
            "end_to_end_stories_per_s": round(n_written / e2e_span, 1) if e2e_span > 0 else None,
            "steady_state_publish_per_s_p10_p90": round(steady, 1),
            "ingest_202_per_s": round(len(accepted_times) / (last_202 - first_202), 1)
            if len(accepted_times) > 1
            else None,
            "span_first_202_to_last_publish_s": round(e2e_span, 2),
            "span_first_to_last_202_s": round(last_202 - first_202, 2),
            "drain_after_last_202_s": round(last_pub - last_202, 2),
            "wall_s": round(wall, 2),
            "settle_s": round(settle_s, 2),
        },
        "latency_s": {
            "definition": "ArticlePublished.occurred_at - wall time the 202 was received",
            "p50": round(percentile(latencies, 0.50), 3),
            "p95": round(percentile(latencies, 0.95), 3),
            "p99": round(percentile(latencies, 0.99), 3),
            "max": round(latencies[-1], 3) if latencies else None,
            "min": round(latencies[0], 3) if latencies else None,
            "mean": round(statistics.fmean(latencies), 3) if latencies else None,
        },
        "cpu": {
            "per_process": cpu,
            "services_ms_per_story": round(1000 * services_cpu / max(n_written, 1), 3),
            "all_processes_ms_per_story": round(1000 * total_cpu / max(n_written, 1), 3),
            "services_ms_per_story_until_idle": round(services_idle, 3),
            "all_processes_ms_per_story_until_idle": round(
                1000 * total_settled / max(n_written, 1), 3
            ),
            "machine_busy_cores": round((machine_after - machine_before) / wall, 2),
            "other_processes_busy_cores": round(others / wall, 2),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in load_after],
        },
        "timeline_per_s": {
            "accepted": per_second(accepted_times, first_202),
            "written": per_second(published_times, first_202),
        },
        "story_words": {
            "min": min(words),
            "median": int(statistics.median(words)),
            "max": max(words),
            "mean_body_bytes": int(statistics.fmean(len(b) for _, b in bodies)),
        },
        "profile": {
            name: summarise_profile(Path(args.profile) / f"{name}.txt")
            for name in bench.pids
            if name not in ("valkey", "seaweedfs")
        }
        if args.profile
        else None,
    }


def summary(result: dict[str, Any]) -> str:
    c, t, lat, cpu = result["counts"], result["throughput"], result["latency_s"], result["cpu"]
    lines = [
        f"stories {c['stories']}: accepted {c['accepted_202']}, written {c['written']}, "
        f"missing {c['missing']}, dead letters {c['dead_letters_total']}, retries {c['retries']}",
        f"end to end   {t['end_to_end_stories_per_s']} stories/s "
        f"({c['written']} in {t['span_first_202_to_last_publish_s']} s, first 202 -> last publish);"
        f" steady state (p10-p90) {t['steady_state_publish_per_s_p10_p90']}/s",
        f"ingest only  {t['ingest_202_per_s']} 202s/s (all accepted in "
        f"{t['span_first_to_last_202_s']} s; "
        f"pipeline drained {t['drain_after_last_202_s']} s later)",
        f"latency      p50 {lat['p50']} s  p95 {lat['p95']} s  p99 {lat['p99']} s  "
        f"max {lat['max']} s",
        "cpu ms/story "
        + "  ".join(f"{name} {v['ms_per_story']}" for name, v in cpu["per_process"].items() if v),
        f"             services total {cpu['services_ms_per_story']} ms/story "
        f"({cpu['services_ms_per_story_until_idle']} until idle, with "
        f"{c['follow_on_publications']} follow-on publications); "
        f"machine busy {cpu['machine_busy_cores']} cores, of which other processes "
        f"{cpu['other_processes_busy_cores']}; "
        f"busy (cores): "
        + "  ".join(
            f"{name} {v['busy_share_of_one_core']}" for name, v in cpu["per_process"].items() if v
        ),
    ]
    if result.get("profile"):
        for name, prof in result["profile"].items():
            if prof.get("samples"):
                top = ", ".join(f"{f} {s:.0%}" for f, s in prof["self"][:5])
                lines.append(f"profile {name} (self): {top}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stories", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent HTTP senders")
    parser.add_argument(
        "--rate", type=float, default=0.0, help="open loop at this many stories/s (0: closed loop)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=20, help="stories pushed before measuring")
    parser.add_argument("--timeout", type=float, default=600.0, help="max wait for publications")
    parser.add_argument(
        "--settle",
        type=float,
        default=6.0,
        help="after the last story is written, wait until the pipeline has been idle this long "
        "(follow-on republishing included) and measure CPU again; 0: skip",
    )
    parser.add_argument(
        "--replicas", type=parse_replicas, default={}, help="e.g. enrich=2,publish=2"
    )
    parser.add_argument("--profile", default=None, help="py-spy every service into this folder")
    parser.add_argument("--keep", action="store_true", help="keep the temp root (logs, data)")
    parser.add_argument("--out", default=None, help="write the results JSON here")
    args = parser.parse_args()

    signal.signal(signal.SIGTERM, _on_sigterm)
    root = Path(tempfile.mkdtemp(prefix="wirepress-bench-"))
    bench = BenchStack(root=root, keep=args.keep)
    print(f"starting a fresh stack under {root} ...", flush=True)
    failed = True
    try:
        t = time.monotonic()
        bench.up()
        for name, count in args.replicas.items():
            for number in range(2, count + 1):
                bench.add_replica(name, number)
        print(
            f"stack up in {time.monotonic() - t:.1f}s: ingest {bench.env['INGEST_URL']}, "
            f"processes {bench.pids}",
            flush=True,
        )
        mode = f"open loop at {args.rate}/s" if args.rate > 0 else "closed loop"
        print(f"pushing {args.stories} stories, {args.concurrency} senders, {mode} ...", flush=True)
        numbers = asyncio.run(measure(args, bench))
        failed = (
            numbers["counts"]["missing"] > 0 or numbers["counts"]["accepted_202"] < args.stories
        )
    except KeyboardInterrupt:
        print("interrupted: stopping the stack", file=sys.stderr)
        return 130
    except Exception:
        if bench.started and bench.var.exists():
            print(bench.log_tail(), file=sys.stderr)
            bench.keep = True  # the logs, for a post-mortem
        raise
    finally:
        bench.down()
        print("stack stopped" + (f"; kept {root}" if bench.keep else ""), flush=True)

    result = {
        "benchmark": "pipeline end to end (ingest HTTP -> enrich -> render -> publish to S3)",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "nproc": os.cpu_count(),
            "cpu_model": cpu_model(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "parameters": {
            "stories": args.stories,
            "warmup": args.warmup,
            "concurrency": args.concurrency,
            "load_model": "open" if args.rate > 0 else "closed",
            "rate": args.rate or None,
            "seed": args.seed,
            "replicas": {name: args.replicas.get(name, 1) for name in devstack.SERVICES},
            "profiled": bool(args.profile),
        },
        **numbers,
    }
    print(summary(result))
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"results in {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
