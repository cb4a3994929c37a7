"""Settings of the Celery worker processes that tests/live/test_celery_worker.py starts.

The test settings, plus: small sync batches (so a worker killed mid-run has committed
some of the run) and Redis scanning for unacknowledged messages every second (so a
message left by a killed worker is redelivered within seconds of its visibility
timeout, CELERY_VISIBILITY_TIMEOUT, instead of after minutes).
"""

import os

from tests.settings import *  # noqa: F403

SYNC_BATCH_SIZE = int(os.environ.get("NHIGOV_TEST_SYNC_BATCH", "2000"))
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,  # noqa: F405 - visibility_timeout from the env
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
