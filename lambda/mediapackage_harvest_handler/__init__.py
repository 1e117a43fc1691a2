"""The Lambda handler of ``Custom::MediaPackageHarvestJob`` and ``Custom::MediaPackageV2HarvestJob``: a
package of small modules, one concern each.

Lambda calls ``entry.handler`` (the function's ``Handler`` setting). Imports run one way: ``entry``;
then ``crhelper_resource`` (the only module that touches crhelper's private state) and
``lifecycle``; then ``poll_rules`` and the job modules (``jobs_v1``, ``jobs_v2``); then ``waiting``
and ``requests_v2``; then ``answering``; then ``outbound``, beside the two shared modules next to
this package (``cdk_mediapackage_harvest_contract``, ``cdk_mediapackage_harvest_rules``). Nothing
imports ``entry``, and this file imports nothing, so importing any one module stays cheap.
"""
