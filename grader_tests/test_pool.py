"""The local worker pool: a worker that dies fails only the notebook it was running."""

from __future__ import annotations

import math
import operator
import os

import pytest

from lrcourse.grade import LocalPool, WorkerLost


def test_a_dead_worker_fails_only_its_own_notebook_and_the_batch_goes_on():
    # operator.call(f, *args) stands in for execute_notebook; os._exit kills the worker under it
    pool = LocalPool(2, fn=operator.call)
    try:
        before = [pool.submit(math.sqrt, float(i)) for i in range(6)]
        crash = pool.submit(os._exit, 1)
        after = [pool.submit(math.sqrt, 4.0) for _ in range(3)]
        assert [f.result(timeout=180) for f in before] == [math.sqrt(i) for i in range(6)]
        with pytest.raises(WorkerLost, match="died while executing this notebook"):
            crash.result(timeout=180)
        assert [f.result(timeout=180) for f in after] == [2.0, 2.0, 2.0]
        assert pool.submit(math.sqrt, 9.0).result(timeout=180) == 3.0
    finally:
        pool.close()


def test_an_error_in_the_task_is_its_own_not_the_pools():
    pool = LocalPool(1, fn=operator.call)
    try:
        with pytest.raises(ValueError):
            pool.submit(math.sqrt, -1.0).result(timeout=180)
        assert pool.submit(math.sqrt, 16.0).result(timeout=180) == 4.0
    finally:
        pool.close()
