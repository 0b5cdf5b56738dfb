"""NLU: model load time and per-message parse latency of the trained model, in process.

Every round starts with the sentence embedding's cache empty: each message costs what a new
citizen's message costs.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from pathlib import Path

from urp.nlu.data import read_examples

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "urp.tar.gz"
ROUNDS = 3


async def _measure() -> tuple[float, list[float]]:
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    from urp.nlu import embeddings

    configure_structlog(logging.WARNING)
    started = time.perf_counter()
    agent = Agent.load(str(MODEL))
    load_seconds = time.perf_counter() - started
    texts = [ex.plain for ex in read_examples(ROOT / "tests" / "nlu" / "holdout.yml")]
    await agent.parse_message(texts[0])  # warm-up
    latencies = []
    for _ in range(ROUNDS):
        embeddings.clear_cache()
        for text in texts:
            start = time.perf_counter()
            await agent.parse_message(text)
            latencies.append((time.perf_counter() - start) * 1000)
    return load_seconds, latencies


def main() -> None:
    load_seconds, latencies = asyncio.run(_measure())
    cuts = statistics.quantiles(latencies, n=100)
    print(f"model load: {load_seconds:.1f} s")
    print(
        f"parse latency over {len(latencies)} messages: p50 {cuts[49]:.1f} ms, "
        f"p95 {cuts[94]:.1f} ms, p99 {cuts[98]:.1f} ms; "
        f"{1000 / statistics.mean(latencies):.0f} messages/s on one core"
    )
