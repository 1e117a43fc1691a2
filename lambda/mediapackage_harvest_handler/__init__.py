"""The Lambda handler of ``Custom::MediaPackageHarvestJob``: a package of small modules, one concern each.

Lambda calls ``entry.handler`` (the function's ``Handler`` setting). Imports run one way: ``entry``,
then ``lifecycle``, then the job modules (``jobs_v1``), ``waiting`` and ``poll_rules``, then
``answering``, ``outbound`` and the two shared modules beside this package
(``cdk_mediapackage_harvest_contract``, ``cdk_mediapackage_harvest_rules``); ``crhelper_resource``,
the only module that touches crhelper's private state, sits under ``entry``. Nothing imports
``entry``, and this file imports nothing, so importing any one module stays cheap.
"""
