"""Run the handler the way Lambda does: the synthesized asset folder first on the path, one process per
invocation, an event and a context with a deadline, and the environment of the function.

The child process imports the handler, its rules module and crhelper from the asset folder only (it
checks that, and fails otherwise); boto3 and botocore come from the Python running it, as Lambda's
runtime provides them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The child: a root log handler (as in Lambda's runtime), the asset folder first on the path, a context
# with a real deadline, and the handler module's entry point.
_BOOTSTRAP = """
import importlib, json, logging, os, sys, time
asset, module_name, function_name, timeout_ms = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
logging.getLogger().addHandler(logging.StreamHandler(sys.stdout))  # as Lambda's runtime does
sys.path.insert(0, asset)
module = importlib.import_module(module_name)
for name in (module_name, "crhelper", "cdk_mediapackage_harvest_rules"):
    origin = os.path.realpath(sys.modules[name].__file__)
    if not origin.startswith(os.path.realpath(asset) + os.sep):
        sys.exit(f"{name} was imported from {origin}, not from the asset {asset}")
deadline = time.monotonic() + timeout_ms / 1000

class Context:
    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    function_version = "$LATEST"
    invoked_function_arn = os.environ["LOCAL_FUNCTION_ARN"]
    memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
    aws_request_id = os.environ["LOCAL_INVOCATION_ID"]
    log_group_name = "/aws/lambda/" + function_name
    log_stream_name = "local"

    @staticmethod
    def get_remaining_time_in_millis():
        return max(0, int((deadline - time.monotonic()) * 1000))

getattr(module, function_name)(json.load(sys.stdin), Context())
"""


@dataclass(frozen=True)
class Invocation:
    returncode: int
    seconds: float
    logs: str
    """Everything the function wrote (stdout and stderr), as CloudWatch Logs would hold it."""


@dataclass(frozen=True)
class Function:
    """A Lambda function made of a synthesized asset folder and a ``module.function`` handler setting."""

    asset: Path
    handler: str
    environment: Mapping[str, str]
    timeout_ms: int = 600_000
    name: str = "HarvestStack-MediaPackageHarvestJobProviderHandler"
    region: str = "us-east-1"
    account: str = "123456789012"
    invoke_permissions: tuple[tuple[str, str], ...] = ()
    """The function's resource policy from the template: (service principal, source ARN) pairs."""

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{self.name}"

    def invoke(
        self,
        event: Mapping[str, Any],
        *,
        invocation_id: str = "local",
        crash_when: Callable[[], bool] | None = None,
    ) -> Invocation:
        """Run one invocation to its end (the process is killed 5 s after the deadline).

        ``crash_when``: checked every 20 ms while the function runs; once true, the process is killed
        (SIGKILL) as when Lambda's sandbox dies mid-invocation (out of memory, say): nothing more is
        done or answered, and Lambda would retry the same event.
        """
        module, _, function = self.handler.rpartition(".")
        env = {
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "AWS_LAMBDA_FUNCTION_NAME": self.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
            "LOCAL_FUNCTION_ARN": self.arn,
            "LOCAL_INVOCATION_ID": invocation_id,
            **self.environment,
        }
        started = time.monotonic()
        command = [
            sys.executable,
            "-I",
            "-c",
            _BOOTSTRAP,
            str(self.asset),
            module,
            function,
            str(self.timeout_ms),
        ]
        with subprocess.Popen(  # noqa: S603 - our own interpreter and bootstrap
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        ) as process:
            if crash_when is not None:
                threading.Thread(target=_kill_when, args=(process, crash_when), daemon=True).start()
            try:
                stdout, stderr = process.communicate(json.dumps(event), timeout=self.timeout_ms / 1000 + 5)
            except subprocess.TimeoutExpired:
                process.kill()
                stdout, stderr = process.communicate()
                logs = stdout + stderr + "\n[killed after the deadline]"
                return Invocation(-9, time.monotonic() - started, logs)
        return Invocation(process.returncode, time.monotonic() - started, stdout + stderr)


def _kill_when(process: subprocess.Popen[str], condition: Callable[[], bool]) -> None:
    while process.poll() is None:
        if condition():
            process.kill()
            return
        time.sleep(0.02)
