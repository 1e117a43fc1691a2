"""AWS Elemental MediaPackage harvest jobs (live-to-VOD clips) as AWS CDK constructs."""

from cdk_mediapackage_harvest.harvest_job import HarvestJob

__all__ = ["HarvestJob"]
__version__ = "0.1.0"
