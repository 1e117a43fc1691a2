"""Where each job of a stack writes, so that two jobs writing the same place are told at synth time.

MediaPackage writes a harvest's files wherever it is told, over whatever is there: two jobs of one
stack with the same bucket and the same manifest key (or, for a job writing a folder, the same
path) leave only one clip. Any construct that writes to a bucket claims its destination here; a
second claim of the same one is a warning on the later construct, naming the earlier one. Kept in
Python per stack: a claim costs no round trip to the CDK. May import aws-cdk-lib and ``_synth``.
"""

from __future__ import annotations

import weakref

from aws_cdk import Annotations, Stack
from constructs import Construct, IConstruct

from cdk_mediapackage_harvest._synth import stack_of

#: The warning's id, for ``Annotations.of(job).acknowledge_warning(...)``.
SAME_DESTINATION_WARNING = "cdk-mediapackage-harvest:sameDestination"

#: Per stack: (bucket name, path) -> the construct that claimed it first.
_claims: weakref.WeakKeyDictionary[Stack, dict[tuple[str, str], Construct]] = weakref.WeakKeyDictionary()


def claim_destination(scope: IConstruct, job: Construct, bucket_name: str, path: str, *, prop: str) -> None:
    """Record that ``job``, defined in ``scope``, writes ``path`` (a key or a folder, named by the prop
    ``prop``) in the bucket named ``bucket_name`` (a name, or the bucket's name token: the same bucket
    gives the same string); warn on ``job`` when another construct of its stack already writes there.

    The stack is found from ``scope``, not from ``job``: the lookup is cached per scope.
    """
    claims = _claims.setdefault(stack_of(scope), {})
    first = claims.setdefault((bucket_name, path), job)
    if first is job:
        return
    Annotations.of(job).add_warning_v2(
        SAME_DESTINATION_WARNING,
        f"{prop}: {path!r} in the same bucket as {first.node.path}: the job that finishes last overwrites "
        f"the other's files; give each job its own {prop}",
    )
