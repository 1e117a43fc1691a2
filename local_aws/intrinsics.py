"""A template value's intrinsic functions resolved locally: ``Ref`` (pseudo parameters to the local
account and region), ``Fn::GetAtt`` and ``Fn::Join``; any other is an error, not a pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from local_aws import ACCOUNT_ID, REGION

PSEUDO_PARAMETERS = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT_ID}
__all__ = ["PSEUDO_PARAMETERS", "Intrinsics", "resolve"]


class Intrinsics:
    """Resolves ``Ref``, ``Fn::GetAtt`` and ``Fn::Join`` in a template value: pseudo parameters to the
    local account and region, references from the given maps (KeyError if absent). Any other
    intrinsic function is an error, not a pass. Override ``ref`` and ``get_att`` to resolve otherwise.
    """

    def __init__(
        self,
        refs: Mapping[str, str] | None = None,
        attributes: Mapping[tuple[str, str], str] | None = None,
    ) -> None:
        self.refs: Mapping[str, str] = refs or {}
        self.attributes: Mapping[tuple[str, str], str] = attributes or {}

    def ref(self, logical_id: str) -> str:
        return self.refs[logical_id]

    def get_att(self, logical_id: str, attribute: str) -> str:
        return self.attributes[(logical_id, attribute)]

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(item) for item in value]
        if not isinstance(value, Mapping):
            return value
        if set(value) == {"Ref"}:
            return PSEUDO_PARAMETERS.get(value["Ref"]) or self.ref(value["Ref"])
        if set(value) == {"Fn::GetAtt"}:
            logical_id, attribute = value["Fn::GetAtt"]
            return self.get_att(logical_id, attribute)
        if set(value) == {"Fn::Join"}:
            separator, parts = value["Fn::Join"]
            return str(separator).join(str(self(part)) for part in parts)
        unknown = [key for key in value if key.startswith("Fn::")]
        if unknown:
            raise ValueError(f"cannot resolve {unknown[0]} locally: {value}")
        return {key: self(item) for key, item in value.items()}


def resolve(
    value: Any, refs: Mapping[str, str], attributes: Mapping[tuple[str, str], str] | None = None
) -> Any:
    """A template value with its intrinsic functions resolved (``Intrinsics``)."""
    return Intrinsics(refs, attributes)(value)
