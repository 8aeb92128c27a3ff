"""A deployer's consumer as its own process: prints each record of registry.promotions
for one model as a JSON line (key, headers, data), and exits after --count records."""

from __future__ import annotations

import argparse
import asyncio
import json

from aiokafka import AIOKafkaConsumer


async def main(bootstrap: str, model: str, count: int) -> None:
    consumer = AIOKafkaConsumer(
        "registry.promotions",
        bootstrap_servers=bootstrap,
        group_id=f"deployer-{model}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=20,
    )
    await consumer.start()
    print(json.dumps({"ready": True}), flush=True)
    seen = 0
    try:
        while seen < count:
            batches = await consumer.getmany(timeout_ms=200)
            for record in (r for records in batches.values() for r in records):
                if record.key != model.encode():
                    continue
                headers = {k: v.decode() for k, v in record.headers}
                line = {
                    "key": record.key.decode(),
                    "headers": headers,
                    "data": json.loads(record.value),
                }
                print(json.dumps(line), flush=True)
                seen += 1
            await consumer.commit()
    finally:
        await consumer.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--count", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(main(args.bootstrap, args.model, args.count))
