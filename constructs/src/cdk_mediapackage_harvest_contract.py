"""What the construct library and the handler must agree on, in one place.

The resource type, the property and ``Data`` keys, the function's environment variable names, the
limits of the services involved, and every timeout with the derivation of the ones that depend on
others. Standard library only: the construct imports it at synth time, and the bundling step copies
this file into the Lambda asset, where the handler imports it. Nothing here imports anything else.
"""

from __future__ import annotations

from typing import Final

# --- Public contract: changing any of these replaces or breaks users' existing resources. ---

#: The CloudFormation type of a v1 harvest job's custom resource.
RESOURCE_TYPE: Final = "Custom::MediaPackageHarvestJob"
#: The construct id of the stack's single handler (its singleton id).
PROVIDER_ID: Final = "MediaPackageHarvestJobProvider"
#: The construct id of the role created for a destination bucket, a child of the bucket.
DESTINATION_ROLE_ID: Final = "MediaPackageHarvestRole"
#: The id of the function's permission that lets the poll rules invoke it.
POLL_PERMISSION_ID: Final = "InvokedByPollRules"
#: The id of the function's permission that lets the stack's notification rule (only) invoke it.
NOTIFICATION_PERMISSION_ID: Final = "InvokedByNotifications"
#: The construct id (under the provider) of the stack's rule for MediaPackage's harvest job events.
NOTIFICATION_RULE_ID: Final = "HarvestJobNotifications"
#: The function's ``Handler`` setting: the entry point's module (in the asset) and function.
HANDLER: Final = "mediapackage_harvest_handler.entry.handler"


class Property:
    """The custom resource's property keys (every value arrives at the handler as a string)."""

    ORIGIN_ENDPOINT_ID: Final = "OriginEndpointId"
    START_TIME: Final = "StartTime"
    END_TIME: Final = "EndTime"
    S3_DESTINATION: Final = "S3Destination"
    BUCKET_NAME: Final = "BucketName"
    MANIFEST_KEY: Final = "ManifestKey"
    ROLE_ARN: Final = "RoleArn"
    ID: Final = "Id"
    WAIT_FOR_COMPLETION: Final = "WaitForCompletion"
    COMPLETION_TIMEOUT: Final = "CompletionTimeout"
    #: CloudFormation's own; they reach the handler with the others.
    SERVICE_TOKEN: Final = "ServiceToken"  # noqa: S105 - a property name
    SERVICE_TIMEOUT: Final = "ServiceTimeout"

    DESTINATION_KEYS: Final = (BUCKET_NAME, MANIFEST_KEY, ROLE_ARN)
    CLOUDFORMATION_KEYS: Final = frozenset({SERVICE_TOKEN, SERVICE_TIMEOUT})
    WAIT_KEYS: Final = frozenset({WAIT_FOR_COMPLETION, COMPLETION_TIMEOUT})
    HARVEST_KEYS: Final = frozenset({ORIGIN_ENDPOINT_ID, START_TIME, END_TIME, S3_DESTINATION, ID})
    KEYS: Final = CLOUDFORMATION_KEYS | WAIT_KEYS | HARVEST_KEYS


class Data:
    """The custom resource's attributes (``Fn::GetAtt``), as the handler answers them."""

    ARN: Final = "Arn"
    ID: Final = "Id"
    STATUS: Final = "Status"
    CHANNEL_ID: Final = "ChannelId"
    CREATED_AT: Final = "CreatedAt"
    START_TIME: Final = "StartTime"
    END_TIME: Final = "EndTime"

    KEYS: Final = (ARN, ID, STATUS, CHANNEL_ID, CREATED_AT, START_TIME, END_TIME)


#: The CloudFormation type of a MediaPackage v2 harvest job's custom resource (served by the same
#: function as v1's).
RESOURCE_TYPE_V2: Final = "Custom::MediaPackageV2HarvestJob"


class PropertyV2:
    """A v2 harvest job's property keys: the names of the API's members where it has them.

    The manifest names arrive as lists of strings, ``Tags`` as an object of strings, the rest as
    strings. ``StartTime``, ``EndTime``, ``WaitForCompletion`` and ``CompletionTimeout`` mean what
    they mean for v1 (:class:`Property`).
    """

    CHANNEL_GROUP_NAME: Final = "ChannelGroupName"
    CHANNEL_NAME: Final = "ChannelName"
    ORIGIN_ENDPOINT_NAME: Final = "OriginEndpointName"
    START_TIME: Final = Property.START_TIME
    END_TIME: Final = Property.END_TIME
    S3_DESTINATION: Final = "S3Destination"
    BUCKET_NAME: Final = "BucketName"
    DESTINATION_PATH: Final = "DestinationPath"
    HLS_MANIFEST_NAMES: Final = "HlsManifestNames"
    DASH_MANIFEST_NAMES: Final = "DashManifestNames"
    LOW_LATENCY_HLS_MANIFEST_NAMES: Final = "LowLatencyHlsManifestNames"
    HARVEST_JOB_NAME: Final = "HarvestJobName"
    DESCRIPTION: Final = "Description"
    TAGS: Final = "Tags"
    WAIT_FOR_COMPLETION: Final = Property.WAIT_FOR_COMPLETION
    COMPLETION_TIMEOUT: Final = Property.COMPLETION_TIMEOUT
    SERVICE_TOKEN: Final = Property.SERVICE_TOKEN
    SERVICE_TIMEOUT: Final = Property.SERVICE_TIMEOUT

    DESTINATION_KEYS: Final = (BUCKET_NAME, DESTINATION_PATH)
    MANIFEST_KEYS: Final = (HLS_MANIFEST_NAMES, DASH_MANIFEST_NAMES, LOW_LATENCY_HLS_MANIFEST_NAMES)
    CLOUDFORMATION_KEYS: Final = Property.CLOUDFORMATION_KEYS
    WAIT_KEYS: Final = Property.WAIT_KEYS
    HARVEST_KEYS: Final = frozenset(
        {
            CHANNEL_GROUP_NAME,
            CHANNEL_NAME,
            ORIGIN_ENDPOINT_NAME,
            START_TIME,
            END_TIME,
            S3_DESTINATION,
            *MANIFEST_KEYS,
            HARVEST_JOB_NAME,
            DESCRIPTION,
            TAGS,
        }
    )
    KEYS: Final = CLOUDFORMATION_KEYS | WAIT_KEYS | HARVEST_KEYS


class DataV2:
    """A v2 harvest job's attributes (``Fn::GetAtt``), as the handler answers them."""

    ARN: Final = "Arn"
    HARVEST_JOB_NAME: Final = "HarvestJobName"
    STATUS: Final = "Status"
    CREATED_AT: Final = "CreatedAt"
    START_TIME: Final = "StartTime"
    END_TIME: Final = "EndTime"

    KEYS: Final = (ARN, HARVEST_JOB_NAME, STATUS, CREATED_AT, START_TIME, END_TIME)


#: The service principal MediaPackage v2 writes harvested content to S3 as (a bucket-policy grant).
V2_SERVICE_PRINCIPAL: Final = "mediapackagev2.amazonaws.com"


class Environment:
    """The handler function's environment variables (the construct sets them, the handler reads them)."""

    #: The EventBridge rule-name prefix the function's policy allows for its poll rules.
    POLL_RULE_PREFIX: Final = "HARVEST_POLL_RULE_PREFIX"
    #: Optional (the construct never sets it; tests shorten it): seconds a failed job's reason is
    #: waited for, instead of ``REASON_GRACE_SECONDS``.
    REASON_GRACE: Final = "HARVEST_REASON_GRACE_SECONDS"
    #: Lambda's own: the function's log group, where claims and reasons are kept as log streams.
    LOG_GROUP: Final = "AWS_LAMBDA_LOG_GROUP_NAME"


class Notification:
    """MediaPackage (v1)'s harvest job event on EventBridge: the only place it gives a failure's cause."""

    SOURCE: Final = "aws.mediapackage"
    DETAIL_TYPE: Final = "MediaPackage HarvestJob Notification"
    #: ``detail`` holds the job under this key (snake_case fields), and ``message`` for a failure.
    JOB_KEY: Final = "harvest_job"


#: The crhelper version the handler's use of crhelper's private state was checked against; the
#: library depends on exactly this version, and the asset refuses another.
CRHELPER_VERSION: Final = "2.0.12"

# --- The services' limits. ---

#: CloudFormation: the answer's body, a PhysicalResourceId, a LogicalResourceId, a ServiceTimeout.
MAX_ANSWER_BYTES: Final = 4096
MAX_PHYSICAL_ID_BYTES: Final = 1024
MAX_LOGICAL_ID_LENGTH: Final = 255
MAX_SERVICE_TIMEOUT_SECONDS: Final = 3600
#: crhelper keeps only the *last* 240 characters of a longer Reason; ours are cut at the end first.
MAX_REASON_LENGTH: Final = 256
#: EventBridge: a rule's name, a target's input.
MAX_RULE_NAME: Final = 64
MAX_TARGET_INPUT: Final = 8192
#: ``HarvestJobPoll-<10 hex>-``: the poll rules' prefix, unique per stack and provider.
POLL_RULE_PREFIX_START: Final = "HarvestJobPoll-"
POLL_RULE_PREFIX_LENGTH: Final = len(POLL_RULE_PREFIX_START) + 10 + 1
#: The longest prefix the handler accepts: a rule name keeps 20 characters after it, the hex digest
#: of the job's Id (so that a notification about a job finds the rule polling it).
POLL_RULE_DIGEST_LENGTH: Final = 20
MAX_POLL_RULE_PREFIX_LENGTH: Final = MAX_RULE_NAME - POLL_RULE_DIGEST_LENGTH
#: CloudWatch Logs: log stream names (``:`` and ``*`` are not allowed in them), one event's message.
MAX_LOG_STREAM_NAME: Final = 512
#: Log streams in the function's own log group: one per CloudFormation request answered after the
#: wait was handed over (created to claim the answer: only one creator succeeds), and one per
#: failed job whose reason MediaPackage sent.
CLAIM_STREAM_PREFIX: Final = "harvest-answer/"
REASON_STREAM_PREFIX: Final = "harvest-job-reason/"
#: A notification's message is kept up to this many characters (a Reason shows at most 256).
MAX_NOTIFICATION_MESSAGE_LENGTH: Final = 1024

# --- Time. Each derived number is computed from the ones it depends on. ---

#: The handler function's timeout: room for a Create to wait out the quota of concurrent jobs and
#: then for its job, before handing the wait to the poller.
FUNCTION_TIMEOUT_SECONDS: Final = 10 * 60
#: botocore's settings for every call the handler makes (standard retry mode).
MAX_ATTEMPTS: Final = 4
CONNECT_TIMEOUT_SECONDS: Final = 2
READ_TIMEOUT_SECONDS: Final = 5
#: The longest one call can take: every attempt timing out, with botocore's backoff (at most
#: 1, 2, 4 s) between them: 4 x (2 + 5) + 7 = 35 s.
CALL_SECONDS: Final = MAX_ATTEMPTS * (CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS) + sum(
    1 << attempt for attempt in range(MAX_ATTEMPTS - 1)
)
#: Kept at the end of an invocation: the look under way, PutRule and PutTargets to hand the wait to
#: the poller (3 calls), and the answer (15 s): 3 x 35 + 15 = 120 s.
ANSWER_MARGIN_SECONDS: Final = 3 * CALL_SECONDS + 15
#: crhelper's timer answers FAILED this long before the deadline (crhelper's own 0.5 s leaves no
#: room to retry that answer); at most a quarter of what the invocation has left.
TIMEOUT_ANSWER_SECONDS: Final = 3.0
#: Answering stops trying this long before the deadline, so the invocation ends by itself.
SEND_DEADLINE_MARGIN_SECONDS: Final = 0.1
#: One answer PUT's socket timeout, and the exponential backoff (full jitter) between PUTs.
SEND_ATTEMPT_TIMEOUT_SECONDS: Final = 5.0
SEND_BACKOFF_BASE_SECONDS: Final = 0.2
SEND_BACKOFF_MAX_SECONDS: Final = 5.0
#: The wait between CreateHarvestJob calls refused for the quota: random up to a ceiling that
#: doubles from 2 s to 60 s (a freed slot is taken within about a minute).
QUOTA_BACKOFF_BASE_SECONDS: Final = 2.0
QUOTA_BACKOFF_CAP_SECONDS: Final = 60.0
#: Seconds between two DescribeHarvestJob calls while waiting.
POLL_INTERVAL_SECONDS: Final = 5.0
#: The poller's schedule: an EventBridge rule invokes the function once a minute.
POLL_SCHEDULE_SECONDS: Final = 60
_POLL_MINUTES = POLL_SCHEDULE_SECONDS // 60
POLL_SCHEDULE: Final = f"rate({_POLL_MINUTES} minute{'s' if _POLL_MINUTES != 1 else ''})"
#: How long one scheduled poll keeps looking: under the schedule, by a quarter of it, so that polls
#: do not usually overlap: 60 - 15 = 45 s.
POLLER_INVOCATION_SECONDS: Final = POLL_SCHEDULE_SECONDS - POLL_SCHEDULE_SECONDS // 4
#: How long the poll a job's notification started keeps looking: the API may still show the job
#: running just after its event, so two more looks after the first: 2 x 5 = 10 s.
NOTIFIED_WATCH_SECONDS: Final = 2 * POLL_INTERVAL_SECONDS
#: How long a waiting invocation that saw a job FAILED waits for MediaPackage's reason (its
#: notification) before answering without one, and how often it looks in the meantime.
REASON_GRACE_SECONDS: Final = 30
REASON_LOOK_INTERVAL_SECONDS: Final = 1.0
#: Removing a poll rule's target, then the rule: attempts, and the pause between them.
REMOVAL_ATTEMPTS: Final = 3
REMOVAL_PAUSE_SECONDS: Final = 1.0
#: ServiceTimeout beyond the completion timeout: the schedule's minute (a job finishing just after
#: a poll is seen at the next) and the answer margin: 60 + 120 = 180 s.
SERVICE_TIMEOUT_MARGIN_SECONDS: Final = POLL_SCHEDULE_SECONDS + ANSWER_MARGIN_SECONDS
#: ServiceTimeout without waiting, and at least: the function's whole run, then five minutes for
#: its answer to arrive (15 minutes).
BASE_SERVICE_TIMEOUT_SECONDS: Final = FUNCTION_TIMEOUT_SECONDS + 5 * 60
#: The completion timeout: at least a minute; at most what CloudFormation's hour leaves once the
#: margin is kept: 3600 - 180 = 3420 s (57 minutes); by default a little under that.
MIN_COMPLETION_TIMEOUT_SECONDS: Final = 60
#: The shortest the handler accepts: a wait shorter than the construct's minute only fails sooner
#: (the tests wait a few seconds); the construct asks for at least ``MIN_COMPLETION_TIMEOUT_SECONDS``.
MIN_ACCEPTED_COMPLETION_TIMEOUT_SECONDS: Final = 1
MAX_COMPLETION_TIMEOUT_SECONDS: Final = MAX_SERVICE_TIMEOUT_SECONDS - SERVICE_TIMEOUT_MARGIN_SECONDS
DEFAULT_COMPLETION_TIMEOUT_SECONDS: Final = 55 * 60


def service_timeout_seconds(completion_timeout_seconds: int | None) -> int:
    """The resource's ServiceTimeout: the completion timeout plus the margin, at least the base."""
    if completion_timeout_seconds is None:
        return BASE_SERVICE_TIMEOUT_SECONDS
    return max(BASE_SERVICE_TIMEOUT_SECONDS, completion_timeout_seconds + SERVICE_TIMEOUT_MARGIN_SECONDS)
