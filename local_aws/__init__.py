"""A local AWS for tests, the demo and the benchmarks: moto's server mode on loopback, plus MediaPackage
harvest jobs (which moto lacks), fault injection, and CloudFormation's side of the custom resource
protocol (an HTTPS ResponseURL). Neither the library nor the handler imports this package.

This module holds what every part of it shares (standard library only: a handler process may import
it): the account and region, and the ISO-8601 form of a moment that MediaPackage and CloudFormation use.
"""

from __future__ import annotations

from datetime import UTC, datetime

ACCOUNT_ID = "123456789012"
"""moto's default account: every local ARN is in it."""
REGION = "us-east-1"


def iso(moment: datetime) -> str:
    """``2026-11-28T10:00:00Z``: a moment in UTC, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
