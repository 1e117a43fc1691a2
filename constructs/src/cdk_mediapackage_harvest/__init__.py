"""AWS Elemental MediaPackage harvest jobs (live-to-VOD clips) as AWS CDK constructs.

Besides the construct, the package exports what users' stacks and tools may rely on: the custom
resource's type, the construct ids of the shared handler and of a bucket's created role, and the
error raised for a value that breaks a harvest-job rule (a ``ValueError``).
"""

from cdk_mediapackage_harvest_rules import HarvestRuleError

from cdk_mediapackage_harvest.harvest_job import DESTINATION_ROLE_ID, PROVIDER_ID, RESOURCE_TYPE, HarvestJob

__all__ = ["DESTINATION_ROLE_ID", "PROVIDER_ID", "RESOURCE_TYPE", "HarvestJob", "HarvestRuleError"]
__version__ = "0.1.0"
