"""Run the same work in several threads or processes released at the same moment.

``work(barrier)`` returns a list; a process ``target(*args, barrier, results)`` puts its
list on ``results``. Both helpers return every worker's items, flattened.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

WORKERS = 2
TIMEOUT = 120


def in_threads(work: Callable[[Any], list[Any]], workers: int = WORKERS) -> list[Any]:
    barrier = threading.Barrier(workers)
    with ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(work, barrier) for _ in range(workers)]
        return [item for future in futures for item in future.result(timeout=TIMEOUT)]


def in_processes(
    target: Callable[..., None], args: tuple[Any, ...], workers: int = WORKERS
) -> list[Any]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(workers)
    results = context.Queue()
    processes = [
        context.Process(target=target, args=(*args, barrier, results)) for _ in range(workers)
    ]
    for process in processes:
        process.start()
    items = [item for _ in processes for item in results.get(timeout=TIMEOUT)]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    return items
