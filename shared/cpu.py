"""CPU-heavy pure work off the event loop, each call within a time budget.

Parsing a wire payload, sanitising a body, splitting it into blocks: pure functions whose cost
grows with the input. Run on the event loop, one large input stalls every other request and
message of the process (and its health check). `CpuPool.run` runs a call in a worker process
when its input is large, and kills the worker when the call runs past its budget: the caller
gets `OverBudget`, the next call a fresh worker. Small inputs run in place, where shipping them
to a worker would cost more than the work.

Workers are started with `spawn` (forking a process that runs threads, as boto3's do, is not
safe) on the first large input, by pebble's ProcessPool, which can stop a running task.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from pebble import ProcessExpired, ProcessPool

logger = logging.getLogger(__name__)

T = TypeVar("T")


class OverBudget(TimeoutError):
    """A call ran past its time budget (or its worker died under it) and was stopped."""


class CpuRunner(Protocol):
    """What a service's decisions are given to run CPU-heavy pure calls with: `CpuPool` in the
    services, `InPlace` in tests and tools. Raises a TimeoutError (OverBudget) when a call
    runs past its budget."""

    async def run(self, size: int, function: Callable[..., T], *args: Any) -> T: ...


class InPlace:
    """Every call in the caller's process, on its loop, with no budget."""

    async def run(self, size: int, function: Callable[..., T], *args: Any) -> T:
        return function(*args)


class CpuPool:
    """Worker processes for pure CPU-heavy calls. `workers=0` runs everything in place."""

    def __init__(self, *, workers: int, budget_s: float, inline_below: int) -> None:
        self.workers = workers
        self.budget_s = budget_s
        self.inline_below = inline_below
        self._pool: ProcessPool | None = None

    async def run(self, size: int, function: Callable[..., T], *args: Any) -> T:
        """`function(*args)`, in a worker when `size` (the input's bytes) is at least
        `inline_below`; OverBudget if it takes longer than `budget_s` there."""
        if self.workers == 0 or size < self.inline_below:
            return function(*args)
        future = self._started().schedule(function, args=args, timeout=self.budget_s)
        try:
            return await asyncio.wrap_future(future)
        except TimeoutError as exc:
            raise OverBudget(
                f"{function.__name__} of {size} bytes ran past its {self.budget_s:g} s budget"
            ) from exc
        except ProcessExpired as exc:
            # Killed under it (out of memory, a crash in C code): the input is the likely cause.
            raise OverBudget(
                f"{function.__name__} of {size} bytes killed its worker: {exc}"
            ) from exc

    def _started(self) -> ProcessPool:
        if self._pool is None:
            self._pool = ProcessPool(
                max_workers=self.workers, context=multiprocessing.get_context("spawn")
            )
            logger.info(
                "started %s CPU worker(s), %.3g s budget a call", self.workers, self.budget_s
            )
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            # Stopped, not closed: a call still running past its budget must not hold shutdown.
            self._pool.stop()  # type: ignore[no-untyped-call]
            self._pool.join()
            self._pool = None
