"""Delivery guarantees on top of FastStream's Redis Streams subscribers.

FastStream gives us consumer groups and XAUTOCLAIM, but on its own a failed message stays pending
forever, a poison message retries forever, and nothing records why a message failed. This module
adds what the pipeline promises:

* every consumed stream is read by a bounded batch reader (`max_records`) and a reclaimer
  (`min_idle_time`) that takes over messages a failed or dead replica left pending;
* a batch is settled by one Lua script that appends a message's output events only if its own
  XACK acknowledged it: a crash leaves both or neither, and two copies of one message (a slow
  replica and the one that reclaimed from it) never both emit;
* a message delivered more than `max_deliveries` times, or failing permanently, is moved to the
  stream's dead-letter stream with the reason and acknowledged;
* messages of the same article in one batch are handled in order, different articles
  concurrently (across batches and streams, handlers rely on version checks, not on order).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from faststream.middlewares import AckPolicy
from faststream.redis import RedisBroker, StreamSub
from faststream.redis.annotations import RedisBatchStreamMessage, RedisStreamMessage
from faststream.redis.message import FAKE_CONSUMER
from faststream.redis.message import RedisBatchStreamMessage as RedisBatchStreamMessageClass
from faststream.redis.message import RedisStreamMessage as RedisStreamMessageClass
from faststream.redis.parser.binary import BinaryMessageFormatV1
from pydantic import TypeAdapter, ValidationError
from redis.asyncio import Redis

from shared.broker import DATA_FIELD, encode_event
from shared.errors import PermanentError
from shared.events import Output, WriteOnAck, emitted
from shared.logging import log_context
from shared.metrics import Metrics
from shared.settings import ServiceSettings
from shared.streams import dead_letter, failures_key

logger = logging.getLogger(__name__)

Handle = Callable[[Any], Awaitable[Sequence[Output]]]

# Settles one batch atomically. A message's outputs are appended and its dead letter written only
# if this XACK acknowledged it, so two copies of one message (a slow replica and the one that
# reclaimed from it) never both emit. KEYS: the stream, its failures hash, its dead-letter
# stream, then the output streams. ARGV: group, max length, then per message one of
#   done <id> <n> (<output key index> <encoded event>)*n <w> <write>*w
#   | dead <id> <reason> <n> <at> <data> | fail <id> <reason>
# where a write (`WriteOnAck`) is <guard key> <guard field> <order> <c> (<k> <arg>*k)*c
# <a> (<key> <field> <value>)*a <redo queue> <redo member> (the queue "" for none).
# The keys a write names are not declared (fine on one server; a Redis Cluster would need them
# in one slot with the streams). Returns the ids this call acknowledged.
_SETTLE = """
local group, maxlen = ARGV[1], ARGV[2]
local acked = {}
local i = 3
while i <= #ARGV do
  local kind, id = ARGV[i], ARGV[i + 1]
  if kind == 'done' then
    local n = tonumber(ARGV[i + 2])
    i = i + 3
    local ok = redis.call('XACK', KEYS[1], group, id) == 1
    if ok then
      for j = 0, n - 1 do
        redis.call('XADD', KEYS[tonumber(ARGV[i + 2 * j])], 'MAXLEN', '~', maxlen, '*',
          '__data__', ARGV[i + 2 * j + 1])
      end
      redis.call('HDEL', KEYS[2], id)
      acked[#acked + 1] = id
    end
    i = i + 2 * n
    local w = tonumber(ARGV[i])
    i = i + 1
    for _ = 1, w do
      local guard, field, order = ARGV[i], ARGV[i + 1], ARGV[i + 2]
      local c = tonumber(ARGV[i + 3])
      i = i + 4
      local kept = redis.call('HGET', guard, field)
      local newer = ok and (not kept or order > kept)
      if newer then redis.call('HSET', guard, field, order) end
      for _ = 1, c do
        local k = tonumber(ARGV[i])
        if newer then redis.call(unpack(ARGV, i + 1, i + k)) end
        i = i + k + 1
      end
      local a = tonumber(ARGV[i])
      local broken = false
      for j = 0, a - 1 do
        local at = i + 1 + 3 * j
        if newer and redis.call('HGET', ARGV[at], ARGV[at + 1]) ~= ARGV[at + 2] then
          broken = true
        end
      end
      i = i + 1 + 3 * a
      if broken and ARGV[i] ~= '' then
        local now = redis.call('TIME')
        redis.call('ZADD', ARGV[i], 'LT', tonumber(now[1]) + tonumber(now[2]) / 1e6, ARGV[i + 1])
      end
      i = i + 2
    end
  elseif kind == 'dead' then
    if redis.call('XACK', KEYS[1], group, id) == 1 then
      redis.call('XADD', KEYS[3], 'MAXLEN', '~', maxlen, '*', 'stream', KEYS[1], 'group', group,
        'entry_id', id, 'reason', ARGV[i + 2], 'deliveries', ARGV[i + 3], 'failed_at', ARGV[i + 4],
        'data', ARGV[i + 5])
      redis.call('HDEL', KEYS[2], id)
      acked[#acked + 1] = id
    end
    i = i + 6
  else
    redis.call('HSET', KEYS[2], id, ARGV[i + 2])
    i = i + 3
  end
end
return acked
"""


@dataclass
class _Delivery:
    entry_id: bytes
    raw: bytes
    event: Any = None
    outputs: Sequence[Output] = ()
    error: str | None = None
    permanent: bool = False
    deliveries: int = 1


@dataclass
class StreamConsumer:
    """Consumes one stream as one group, with retries, reclaiming and a dead-letter stream."""

    stream: str
    group: str
    adapter: TypeAdapter[Any]
    handle: Handle
    settings: ServiceSettings
    redis: Callable[[], Redis]
    broker: RedisBroker
    concurrency: int = 1
    metrics: Metrics | None = None
    handled: int = field(default=0, init=False)
    _subscribers: list[Any] = field(default_factory=list, init=False)
    _in_flight: set[bytes] = field(default_factory=set, init=False)

    def subscribe(self) -> None:
        s = self.settings
        # New entries in bounded batches; and entries left pending too long, one at a time.
        reader = self._subscriber(
            self._on_batch, batch=True, max_records=s.max_records, polling_interval=s.poll_block_ms
        )
        reclaimer = self._subscriber(
            self._on_reclaimed, min_idle_time=s.claim_idle_ms, polling_interval=s.claim_poll_ms
        )
        self._subscribers = [reader, reclaimer]

    def _subscriber(self, handler: Callable[..., Awaitable[None]], **read: Any) -> Any:
        subscriber = self.broker.subscriber(
            stream=StreamSub(
                self.stream, group=self.group, consumer=self.settings.consumer_name, **read
            ),
            ack_policy=AckPolicy.MANUAL,
            parser=_entries_as_they_are,
            decoder=_skip_decoding,
        )
        subscriber(handler)
        return subscriber

    def alive(self) -> bool:
        return all(
            sub.running and all(not task.done() for task in getattr(sub, "tasks", []))
            for sub in self._subscribers
        )

    async def _on_batch(self, msg: RedisBatchStreamMessage) -> None:
        await self.process(_deliveries(msg), reclaimed=False)

    async def _on_reclaimed(self, msg: RedisStreamMessage) -> None:
        await self.process(_deliveries(msg), reclaimed=True)

    async def process(self, deliveries: list[_Delivery], *, reclaimed: bool) -> None:
        if reclaimed:
            # Not ours to handle: still being handled here (reclaimed from ourselves while a slow
            # handler runs), or already acknowledged by whoever had it before.
            deliveries = [d for d in deliveries if d.entry_id not in self._in_flight]
            await self._count_deliveries(deliveries)
            deliveries = [d for d in deliveries if d.deliveries > 0]
        if not deliveries:
            return
        ids = {d.entry_id for d in deliveries}
        self._in_flight |= ids
        try:
            await self._process(deliveries)
        finally:
            self._in_flight -= ids

    async def _process(self, deliveries: list[_Delivery]) -> None:
        runnable: list[_Delivery] = []
        for delivery in deliveries:
            if delivery.deliveries > self.settings.max_deliveries:
                delivery.permanent = True
                delivery.error = await self._last_error(delivery) or "delivery limit reached"
                continue
            try:
                body, _headers = BinaryMessageFormatV1.parse(delivery.raw)
                delivery.event = self.adapter.validate_json(body)
            except (ValidationError, ValueError) as exc:
                delivery.permanent = True
                delivery.error = f"invalid event: {exc}"
                continue
            runnable.append(delivery)
        await self._run(runnable)
        await self._settle(deliveries)

    async def _run(self, deliveries: list[_Delivery]) -> None:
        # One story's events stay in order; different stories proceed side by side.
        by_article: dict[str, list[_Delivery]] = {}
        for delivery in deliveries:
            by_article.setdefault(getattr(delivery.event, "article_id", ""), []).append(delivery)
        limit = asyncio.Semaphore(self.concurrency)

        async def run_chain(chain: list[_Delivery]) -> None:
            async with limit:
                for delivery in chain:
                    event = delivery.event
                    # What the handler logs, and its failure below, name the story and its push.
                    ids = getattr(event, "article_id", None), getattr(event, "correlation_id", None)
                    with log_context(*ids):
                        await self._run_one(delivery)

        await asyncio.gather(*(run_chain(chain) for chain in by_article.values()))

    async def _run_one(self, delivery: _Delivery) -> None:
        started = time.perf_counter()
        # The queue's share of the latency, once per message: a retry's wait is the claim idle
        # time, which says nothing about the queue.
        if self.metrics is not None and delivery.deliveries <= 1:
            occurred = getattr(delivery.event, "occurred_at", None)
            if occurred is not None:
                waited = max(0.0, time.time() - occurred.timestamp())
                self.metrics.stage_wait.labels(self.stream, self.group).observe(waited)
        try:
            delivery.outputs = await self.handle(delivery.event)
        except PermanentError as exc:
            delivery.permanent = True
            delivery.error = f"{type(exc).__name__}: {exc}"
        except Exception as exc:
            # The one place a handler's failure is handled: recorded, left pending for a retry.
            delivery.error = f"{type(exc).__name__}: {exc}"
            logger.warning(
                "%s/%s: message %s failed (delivery %s of %s), will retry: %s",
                self.stream,
                self.group,
                delivery.entry_id.decode(),
                delivery.deliveries,
                self.settings.max_deliveries,
                delivery.error,
                exc_info=not isinstance(exc, ConnectionError | TimeoutError),
                extra={"article_id": getattr(delivery.event, "article_id", "-")},
            )
        finally:
            if self.metrics is not None:
                self.metrics.stage_processing.labels(self.stream, self.group).observe(
                    time.perf_counter() - started
                )

    async def _settle(self, deliveries: list[_Delivery]) -> None:
        done = [d for d in deliveries if d.error is None]
        dead = [d for d in deliveries if d.error is not None and d.permanent]
        failed = [d for d in deliveries if d.error is not None and not d.permanent]
        output_streams: list[str] = []
        args: list[Any] = [self.group, self.settings.stream_maxlen]
        for delivery in done:
            events = emitted(delivery.outputs)
            writes = [w for w in delivery.outputs if isinstance(w, WriteOnAck)]
            args += ["done", delivery.entry_id, len(events)]
            for stream, event in events:
                if stream not in output_streams:
                    output_streams.append(stream)
                args += [4 + output_streams.index(stream), await encode_event(event)]
            args.append(len(writes))
            for write in writes:
                args += [write.guard_key, write.guard_field, write.order, len(write.commands)]
                for command in write.commands:
                    args += [len(command), *command]
                args.append(len(write.assumptions))
                for assumption in write.assumptions:
                    args += list(assumption)
                args += list(write.redo or ("", ""))
        for delivery in dead:
            args += ["dead", delivery.entry_id, delivery.error or "", delivery.deliveries,
                     time.time(), delivery.raw]  # fmt: skip
        for delivery in failed:
            args += ["fail", delivery.entry_id, delivery.error or ""]
        keys = [self.stream, failures_key(self.stream, self.group), dead_letter(self.stream)]
        acked = await self.redis().eval(_SETTLE, len(keys) + len(output_streams),
                                        *keys, *output_streams, *args)  # fmt: skip
        settled = {bytes(a) for a in acked}
        # Another copy of the same entry (a slow handler whose message was reclaimed meanwhile)
        # may have settled first: then this copy emits nothing.
        done = [d for d in done if d.entry_id in settled]
        dead = [d for d in dead if d.entry_id in settled]
        self.handled += len(done)
        if self.metrics is not None:
            count = self.metrics.stage_messages
            count.labels(self.stream, self.group, "done").inc(len(done))
            count.labels(self.stream, self.group, "dead_lettered").inc(len(dead))
            count.labels(self.stream, self.group, "retried").inc(len(failed))
        for delivery in dead:
            logger.error(
                "%s/%s: message %s dead-lettered after %s deliveries: %s",
                self.stream,
                self.group,
                delivery.entry_id.decode(),
                delivery.deliveries,
                delivery.error,
                extra={
                    "article_id": getattr(delivery.event, "article_id", "-"),
                    "correlation_id": getattr(delivery.event, "correlation_id", "-"),
                },
            )

    async def _count_deliveries(self, deliveries: list[_Delivery]) -> None:
        client = self.redis()
        for delivery in deliveries:
            pending = await client.xpending_range(
                self.stream,
                self.group,
                min=delivery.entry_id,
                max=delivery.entry_id,
                count=1,
            )
            delivery.deliveries = int(pending[0]["times_delivered"]) if pending else 0

    async def _last_error(self, delivery: _Delivery) -> str | None:
        reason = await self.redis().hget(failures_key(self.stream, self.group), delivery.entry_id)
        return reason.decode() if reason else None


def _deliveries(msg: RedisStreamMessage | RedisBatchStreamMessage) -> list[_Delivery]:
    raw = msg.raw_message
    data = raw["data"]
    entries = data if isinstance(data, list) else [data]
    return [
        _Delivery(entry_id=entry_id, raw=entry.get(DATA_FIELD, b""))
        for entry_id, entry in zip(raw["message_ids"], entries, strict=True)
    ]


async def _entries_as_they_are(msg: Mapping[str, Any]) -> Any:
    # FastStream's own parser decodes the JSON of every entry in a batch (and re-encodes the
    # batch) before the handler runs; we validate each entry from its raw bytes instead, so the
    # message only needs to carry the raw entries.
    message_class = (
        RedisBatchStreamMessageClass if msg["type"] == "bstream" else RedisStreamMessageClass
    )
    data = msg["data"]
    entries = data if isinstance(data, list) else [data]
    # Only FastStream's Prometheus middleware reads the body (for its size histogram): the
    # entries' bytes as they arrived.
    body = b"".join(entry.get(DATA_FIELD, b"") for entry in entries)
    return message_class(raw_message=msg, body=body, consumer=FAKE_CONSUMER, group=None)


async def _skip_decoding(msg: Any) -> None:
    # We validate each entry with pydantic straight from its JSON bytes; FastStream's own
    # decoding of the batch would parse every payload twice more for nothing.
    return None
