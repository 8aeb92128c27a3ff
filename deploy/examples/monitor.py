"""A monitor: follows registry.events, prints one line per event, counts events per type.

Usage: python monitor.py [--bootstrap HOST:PORT] [--group NAME]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from collections import Counter, OrderedDict

from aiokafka import AIOKafkaConsumer


async def main(bootstrap: str, group: str) -> None:
    consumer = AIOKafkaConsumer(
        "registry.events",
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,  # commit only what was handled
        fetch_max_wait_ms=100,
    )
    # Redeliveries carry the same ce_id (store id and log position); a real consumer keeps
    # the ids it has handled durable, next to its own state. Here: bounded, in memory.
    seen: OrderedDict[str, None] = OrderedDict()
    counts: Counter[str] = Counter()
    await consumer.start()
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=1000)
            for record in (r for records in batches.values() for r in records):
                headers = {k: v.decode() for k, v in record.headers}
                if headers["ce_id"] in seen:
                    continue
                data = json.loads(record.value)
                version = "" if data["version"] is None else f" v{data['version']}"
                print(
                    f"{data['position']:>8} {data['type']:<22} {data['model'] or '-'}{version}"
                    f" by {data['actor']}",
                    flush=True,
                )
                counts[data["type"]] += 1
                seen[headers["ce_id"]] = None
                if len(seen) > 10_000:
                    seen.popitem(last=False)
            if batches:
                await consumer.commit()
                print("  counts: " + ", ".join(f"{t}={n}" for t, n in sorted(counts.items())))
    finally:
        await consumer.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Prints every event of the registry.")
    env = os.environ.get
    parser.add_argument("--bootstrap", default=env("REGISTRUM_KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
    parser.add_argument("--group", default=env("MONITOR_GROUP", "monitor"))
    args = parser.parse_args()
    asyncio.run(main(args.bootstrap, args.group))
