"""The task hostname of a Celery worker in the integration test (core.hostname_callable): its own name.

Both test workers run on one machine, so the machine's name cannot tell them apart in the task
instances; each worker's environment names it (``RKO_TEST_WORKER_NAME``).
"""

from __future__ import annotations

import os


def name() -> str:
    return os.environ.get("RKO_TEST_WORKER_NAME", "unnamed")
