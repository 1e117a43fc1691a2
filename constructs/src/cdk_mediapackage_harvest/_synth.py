"""What the construct decides in Python instead of asking the CDK in node: tokens and cached reads.

Every call into the CDK from Python is a round trip to its node process (jsii), and at synth time
those round trips, not the work, are most of a construct's cost. Strings are checked for a token
here; attributes that never change (a bucket's name, a role's ARN, a construct's stack) are read
once per object. May import aws-cdk-lib and constructs; nothing from this package.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from datetime import date
from typing import Generic, TypeVar

from aws_cdk import Stack, Token
from constructs import IConstruct

#: What every CDK string token contains once encoded (``${Token[TOKEN.123]}``, ``${Token[AWS.Region.4]}``):
#: a string without it holds no token.
UNRESOLVED_MARKER = "${Token["

K = TypeVar("K")
V = TypeVar("V")


def is_unresolved(value: object) -> bool:
    """Whether ``value`` holds a token: decided in Python for a string or a date, by the CDK otherwise.

    A string that merely contains the marker counts as a token: it is passed through unchecked, and
    the handler checks the resolved value at deploy time with the same rules.
    """
    if isinstance(value, str):
        return UNRESOLVED_MARKER in value
    if isinstance(value, date) or value is None:
        return False
    return Token.is_unresolved(value)


class ObjectCache(Generic[K, V]):
    """A value computed once per object, held no longer than the object (so never across apps)."""

    def __init__(self, compute: Callable[[K], V]) -> None:
        self._compute = compute
        self._values: weakref.WeakKeyDictionary[K, V] = weakref.WeakKeyDictionary()

    def __call__(self, key: K) -> V:
        try:
            return self._values[key]
        except KeyError:
            value = self._values[key] = self._compute(key)
            return value
        except TypeError:  # an object that cannot be weakly referenced: not cached
            return self._compute(key)


def _stack_of(scope: IConstruct) -> Stack:
    return scope if isinstance(scope, Stack) else Stack.of(scope)


#: The stack a construct belongs to (``Stack.of``), asked once per scope.
stack_of: ObjectCache[IConstruct, Stack] = ObjectCache(_stack_of)
