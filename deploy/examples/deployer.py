"""A deployer: follows registry.promotions and acts on versions promoted to production.

Usage: python deployer.py [--bootstrap HOST:PORT] [--group NAME] [--model NAME]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os

from aiokafka import AIOKafkaConsumer

PROMOTED = "io.registrum.VersionPromoted"


async def main(bootstrap: str, group: str, model: str | None) -> None:
    consumer = AIOKafkaConsumer(
        "registry.promotions",
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,  # commit only what was handled
        fetch_max_wait_ms=100,  # deliver promotions promptly, not after the 500 ms default
    )
    # Delivery is at least once, and the relay republishes the log into a broker that
    # lost it. ce_id is "<store id>:<log position>"; positions grow along the log, so
    # one number per model skips both redeliveries and history arriving late. A real
    # deployer keeps it durable, in the same transaction as its own state.
    applied: dict[str, int] = {}
    await consumer.start()
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=1000)
            for record in (r for records in batches.values() for r in records):
                headers = {k: v.decode() for k, v in record.headers}
                position = int(headers["ce_id"].rpartition(":")[2])
                name = record.key.decode()
                if position <= applied.get(name, 0) or (model and name != model):
                    continue
                data = json.loads(record.value)
                if headers["ce_type"] == PROMOTED and data["to_stage"] == "production":
                    approvers = ", ".join(a["actor"] for a in data["approvals"]) or "none"
                    print(
                        f"deploy {data['model']} v{data['version']} from {data['artifact_uri']}"
                        f" (sha256 {data['sha256']}), approved by {approvers}",
                        flush=True,
                    )
                applied[name] = position
            if batches:
                await consumer.commit()
    finally:
        await consumer.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Deploys versions promoted to production.")
    env = os.environ.get
    parser.add_argument("--bootstrap", default=env("REGISTRUM_KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
    parser.add_argument("--group", default=env("DEPLOYER_GROUP", "deployer"))
    parser.add_argument("--model", default=env("DEPLOYER_MODEL"), help="only this model")
    args = parser.parse_args()
    asyncio.run(main(args.bootstrap, args.group, args.model))
