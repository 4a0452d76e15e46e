"""shared.cpu: large inputs in a worker process, each call within its budget."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from shared.cpu import CpuPool, InPlace, OverBudget
from shared.html import body_blocks

pytestmark = pytest.mark.integration


async def test_a_call_past_its_budget_is_stopped_and_the_next_gets_a_fresh_worker() -> None:
    pool = CpuPool(workers=1, budget_s=0.5, inline_below=100)
    try:
        first = await pool.run(1_000, os.getpid)
        assert first != os.getpid()
        with pytest.raises(OverBudget, match="budget"):
            await pool.run(1_000, time.sleep, 30)
        replaced = await pool.run(1_000, os.getpid)
        assert replaced not in (first, os.getpid())
        body = "<p>one</p><p>two</p>"
        assert await pool.run(1_000, body_blocks, body) == ["<p>one</p>", "<p>two</p>"]
    finally:
        pool.close()


async def test_other_work_goes_on_while_a_call_runs_in_a_worker() -> None:
    pool = CpuPool(workers=1, budget_s=5, inline_below=100)
    try:
        await pool.run(1_000, os.getpid)  # the worker started
        slow = asyncio.ensure_future(pool.run(1_000, time.sleep, 1))
        ticks = 0
        while not slow.done():
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks > 10, "the loop was blocked while the worker slept"
    finally:
        pool.close()


async def test_small_inputs_and_in_place_runners_stay_in_the_process() -> None:
    pool = CpuPool(workers=1, budget_s=0.5, inline_below=100)
    assert await pool.run(99, os.getpid) == os.getpid()
    assert await CpuPool(workers=0, budget_s=1, inline_below=0).run(10**9, os.getpid) == (
        os.getpid()
    )
    assert await InPlace().run(10**9, os.getpid) == os.getpid()
    pool.close()
