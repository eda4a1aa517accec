#!/usr/bin/env python3
"""Publish a newspipe fetch job from Python (pika), as any foreign producer would.

    python3 publish_fetch_job.py AMQP_URL EXCHANGE URL [--invalid]

EXCHANGE is the work exchange: `broker.prefix`, `newspipe` by default. The message follows
schemas/fetch-job.schema.json. With --invalid it sends a job without its `schema` field, which newspipe
dead-letters with a readable reason. Prints the job id; exits non-zero if the broker did not confirm it.
"""
import json
import sys
import uuid
from datetime import datetime, timezone

import pika


def main() -> int:
    amqp_url, exchange, url = sys.argv[1:4]
    invalid = "--invalid" in sys.argv[4:]
    job_id = str(uuid.uuid4())
    job = {
        "schema": 1,
        "job_id": job_id,
        "url": url,
        "submitted_at": datetime.now(timezone.utc).isoformat(),
    }
    if invalid:
        del job["schema"]
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    channel.confirm_delivery()  # basic_publish raises if the broker nacks or returns the message
    channel.basic_publish(
        exchange=exchange,
        routing_key="fetch",
        body=json.dumps(job).encode("utf-8"),
        properties=pika.BasicProperties(
            content_type="application/json",
            delivery_mode=2,  # persistent
            correlation_id=job_id,  # the job id, so every worker's log lines carry it
        ),
        mandatory=True,
    )
    connection.close()
    print(job_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
