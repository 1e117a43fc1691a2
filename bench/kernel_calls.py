"""Counting the round trips from Python to the CDK's node process (jsii), by kind of request.

Used by ``bench/synth_app.py --count-calls`` and by the construct's synthesis tests (``bench`` is on
pytest's path). Deterministic: a count, never a time.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

#: The jsii process provider's requests, each one round trip to the node process.
KINDS = (
    "create",
    "delete",
    "get",
    "set",
    "sget",
    "sset",
    "invoke",
    "sinvoke",
    "begin",
    "sbegin",
    "end",
    "callbacks",
    "complete",
    "sync_complete",
)


@contextmanager
def counting() -> Iterator[Counter[str]]:
    """Count every request while the block runs: the provider's methods are wrapped, then restored.

    The provider, not ``jsii.invoke`` and friends: the generated bindings bind those at import, and
    callbacks from node (a Python override) are answered through the provider too.
    """
    from jsii._kernel.providers.process import ProcessProvider

    counts: Counter[str] = Counter()
    originals = {kind: getattr(ProcessProvider, kind) for kind in KINDS}

    def counted(kind: str, method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            counts[kind] += 1
            return method(*args, **kwargs)

        return wrapper

    for kind, method in originals.items():
        setattr(ProcessProvider, kind, counted(kind, method))
    try:
        yield counts
    finally:
        for kind, method in originals.items():
            setattr(ProcessProvider, kind, method)
