"""Run the handler the way Lambda does: the synthesized asset folder first on the path, one process per
invocation, an event and a context with a deadline, and the environment of the function.

The child process imports the handler, its contract and rules modules and crhelper from the asset
folder only (it checks that, and fails otherwise); boto3 and botocore come from the Python running
it, as Lambda's runtime provides them.
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

from local_aws import ACCOUNT_ID, REGION

# The child: a root log handler (as in Lambda's runtime), the asset folder first on the path, a context
# with a real deadline (``Context``: this package joins the path, last, once the handler is imported),
# and the handler module's entry point.
_BOOTSTRAP = """
import importlib, json, logging, os, sys
asset, module_name, function_name, timeout_ms, here = sys.argv[1:6]
logging.getLogger().addHandler(logging.StreamHandler(sys.stdout))  # as Lambda's runtime does
sys.path.insert(0, asset)
module = importlib.import_module(module_name)
for name in (module_name, "crhelper", "cdk_mediapackage_harvest_contract", "cdk_mediapackage_harvest_rules"):
    origin = os.path.realpath(sys.modules[name].__file__)
    if not origin.startswith(os.path.realpath(asset) + os.sep):
        sys.exit(f"{name} was imported from {origin}, not from the asset {asset}")
sys.path.append(here)
from local_aws.lambda_runtime import Context
context = Context(
    remaining_ms=int(timeout_ms),
    function_name=os.environ["AWS_LAMBDA_FUNCTION_NAME"],
    invoked_function_arn=os.environ["LOCAL_FUNCTION_ARN"],
    aws_request_id=os.environ["LOCAL_INVOCATION_ID"],
    memory_limit_in_mb=os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"],
)
getattr(module, function_name)(json.load(sys.stdin), context)
"""
DEFAULT_FUNCTION_NAME = "HarvestStack-MediaPackageHarvestJobProviderHandler"


def function_arn(name: str, region: str = REGION, account: str = ACCOUNT_ID) -> str:
    return f"arn:aws:lambda:{region}:{account}:function:{name}"


class Context:
    """A Lambda context, as crhelper and the handler read it. The time left counts down, as Lambda's
    does from the start of an invocation, from ``seconds`` (or ``remaining_ms``) at its creation."""

    def __init__(
        self,
        seconds: float = 600,
        *,
        remaining_ms: int | None = None,
        function_name: str = DEFAULT_FUNCTION_NAME,
        invoked_function_arn: str | None = None,
        aws_request_id: str = "local",
        memory_limit_in_mb: str = "256",
    ) -> None:
        self.function_name = function_name
        self.invoked_function_arn = invoked_function_arn or function_arn(function_name)
        self.aws_request_id = aws_request_id
        self.memory_limit_in_mb = memory_limit_in_mb
        self.function_version = "$LATEST"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        left = seconds if remaining_ms is None else remaining_ms / 1000
        self._deadline = time.monotonic() + left

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


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
    name: str = DEFAULT_FUNCTION_NAME
    region: str = REGION
    account: str = ACCOUNT_ID
    invoke_permissions: tuple[tuple[str, str], ...] = ()
    """The function's resource policy from the template: (service principal, source ARN) pairs."""

    @property
    def arn(self) -> str:
        return function_arn(self.name, self.region, self.account)

    @property
    def log_group(self) -> str:
        """Its log group's name, which Lambda gives the function in ``AWS_LAMBDA_LOG_GROUP_NAME``."""
        return f"/aws/lambda/{self.name}"

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
            "AWS_LAMBDA_LOG_GROUP_NAME": self.log_group,
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
            str(Path(__file__).resolve().parents[1]),
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
