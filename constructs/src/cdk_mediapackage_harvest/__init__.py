"""AWS Elemental MediaPackage harvest jobs (live-to-VOD clips) as AWS CDK constructs: ``HarvestJob``
(MediaPackage v1) and ``HarvestJobV2`` (MediaPackage v2).

Besides the constructs, the package exports what users' stacks and tools may rely on: the custom
resources' types, the construct ids of the shared handler and of a bucket's created role, and the
error raised for a value that breaks a harvest-job rule (a ``ValueError``).
"""

from cdk_mediapackage_harvest_rules import HarvestRuleError

from cdk_mediapackage_harvest.harvest_job import DESTINATION_ROLE_ID, PROVIDER_ID, RESOURCE_TYPE, HarvestJob
from cdk_mediapackage_harvest.harvest_job_v2 import RESOURCE_TYPE_V2, HarvestJobV2

__all__ = [
    "DESTINATION_ROLE_ID",
    "PROVIDER_ID",
    "RESOURCE_TYPE",
    "RESOURCE_TYPE_V2",
    "HarvestJob",
    "HarvestJobV2",
    "HarvestRuleError",
]
__version__ = "0.1.0"
