"""Test setup: offline, with fake credentials and a region; no request can reach AWS."""

from __future__ import annotations

import os

# Set before boto3 or crhelper is imported: crhelper creates clients at import time and fails
# silently without a region. Every AWS endpoint points at a closed port on loopback, so a request
# that a test forgot to stub fails at once instead of leaving the machine.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
)
for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL_MEDIAPACKAGE"):
    os.environ.pop(name, None)
