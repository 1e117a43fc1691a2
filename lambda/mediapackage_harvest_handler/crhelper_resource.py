"""crhelper's ``CfnResource``, extended where its defaults do not fit: the one module that touches
crhelper's private state.

Checked against crhelper ``CHECKED_CRHELPER_VERSION`` (the contract's ``CRHELPER_VERSION``, which the
library pins and the asset enforces); a test fails when another is installed. The private names
relied on, each read, set or overridden here:

- attributes: ``_event``, ``_context``, ``_response_url``, ``_send_response``, ``_sam_local``,
  ``_timer``, ``_init_failed`` (must stay None: crhelper answers every event FAILED otherwise);
  the constructor reads the environment variable ``AWS_SAM_LOCAL`` (set, it builds no boto3
  clients) and takes ``sleep_on_delete`` (``_sleep_on_delete``, the sleep of ``_wait_for_cwlogs``
  before a Delete's answer, set to 0 by ``entry``); ``_ssl_verify`` is passed through untouched;
- the public fields crhelper's ``_send`` reads: ``Status``, ``Reason``, ``PhysicalResourceId``,
  ``StackId``, ``RequestId``, ``LogicalResourceId``, ``Data``, ``NoEcho`` (and ``RequestType``,
  which ``_crhelper_init`` sets);
- methods overridden: ``__call__``, ``_log_setup`` (it calls ``log_helper.setup`` with the
  envelope's fields and ``context.aws_request_id``), ``_wrap_function``, ``_polling_init``,
  ``_send``, ``_set_timeout``, ``_timeout``, ``generate_physical_id``; called: ``_log_setup`` and
  ``_send`` of ``CfnResource`` itself;
- the flow of ``CfnResource.__call__``: ``_log_setup``, ``_crhelper_init`` (resets the public fields,
  copies ``CrHelperData`` into ``Data``, starts ``_set_timeout``, runs ``_wrap_function`` on the
  function ``_get_func`` picks by ``RequestType`` and ``CrHelperPoll``), ``_polling_init`` when a
  poll function is registered, and ``_cfn_response`` (the physical id) then ``_send`` when
  ``_send_response`` is set;
- the poll event's keys ``CrHelperPoll`` (routes to the poll function) and ``CrHelperRule``, which
  :mod:`poll_rules` writes and removes.

Imports crhelper, ``poll_rules``, ``log_streams`` (claims), ``answering``, ``outbound``, the contract
module and the standard library; the decisions it answers come from ``lifecycle`` (typing only).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

import cdk_mediapackage_harvest_contract as contract
from crhelper import CfnResource
from crhelper.resource_helper import FAILED, SUCCESS

from mediapackage_harvest_handler import answering, log_streams, outbound, poll_rules
from mediapackage_harvest_handler.waiting import NOTIFIED_KEY

if TYPE_CHECKING:
    from mediapackage_harvest_handler.lifecycle import Decision

logger = logging.getLogger(__name__)

DecisionFunction = Callable[[Any, Any], "Decision"]

CHECKED_CRHELPER_VERSION = contract.CRHELPER_VERSION
#: Envelope values put in every log line are cut to this many characters.
_LOGGED_ENVELOPE_LENGTH = 300


class HarvestJobResource(CfnResource):
    """The answering half of the handler, on crhelper.

    Decisions: each registered function returns a ``lifecycle.Decision``; it is recorded here
    (``decision``) and becomes crhelper's answer, instead of the functions writing crhelper's fields.

    Polling: crhelper, once a ``poll_*`` function is registered, always hands the event to an
    EventBridge rule and never answers in the first invocation. Here the first invocation waits for
    the job itself and answers at once when it is done; only a decision still ``pending`` is handed
    to the poller (:mod:`poll_rules`), and the rule is removed however the wait ends.

    One answer per request: once a wait was handed over (the event names a poll rule), a scheduled
    poll, a poll that a job's notification started and the timer may each see the end; each claims
    the answer first (:func:`log_streams.claim`) and only the claimer answers and removes the rule.

    Answering: exactly one answer per invocation, through :func:`answering.put_answer`, never to the
    URL of an earlier event; the timer answers FAILED ``TIMEOUT_ANSWER_SECONDS`` before the deadline
    with a Reason that says what happened. Events that cannot be answered are logged and dropped.

    Cold start: crhelper builds boto3 clients for Lambda, EventBridge and CloudWatch Logs in its
    constructor, and none of them is used here; the constructor runs as under ``sam local``, which
    builds none (about a third of the handler's import time).
    """

    decision: Decision | None = None
    # crhelper's own state, which its type stubs leave out.
    _event: dict[str, Any]
    _context: Any
    _send_response: bool
    _sam_local: Any
    _response_url: str
    _timer: threading.Timer | None

    def __init__(self, **settings: Any) -> None:
        # Held while an answer is decided and sent: the timer thread and the main thread race.
        self._answer_lock = threading.RLock()
        self._answered = False
        saved = os.environ.get("AWS_SAM_LOCAL")
        os.environ["AWS_SAM_LOCAL"] = "true"
        try:
            super().__init__(**settings)
        finally:
            if saved is None:
                del os.environ["AWS_SAM_LOCAL"]
            else:
                os.environ["AWS_SAM_LOCAL"] = saved
        # Under ``sam local``, crhelper would skip the poll set-up, and with it the answer; ours needs
        # none of crhelper's clients, and waits in the invocation like anywhere else.
        self._sam_local = None

    def on(self, *requests: str) -> Callable[[DecisionFunction], DecisionFunction]:
        """Register a function that returns a decision for these requests, with crhelper's own
        decorators (``create``, ``update``, ``delete``, ``poll_create``, ``poll_update``)."""

        def register(func: DecisionFunction) -> DecisionFunction:
            for request in requests:
                getattr(super(HarvestJobResource, self), request)(func)
            return func

        return register

    def __call__(self, event: Any, context: Any) -> None:
        self.decision = None
        if self._start_invocation(event, context):
            super().__call__(event, context)

    def _start_invocation(self, event: Any, context: Any) -> bool:
        """Forget the previous event, then drop or answer an event crhelper cannot handle.

        crhelper answers an early failure (a missing key) with the state of the *previous*
        invocation in a warm container, its ResponseURL included; here that state is replaced first.
        True when crhelper should handle the event.
        """
        with self._answer_lock:
            if self._timer is not None:  # an earlier invocation's timer must not answer this one
                self._timer.cancel()
                self._timer = None
            self._answered = False
            self._event = event if isinstance(event, dict) else {}
            self._context = context
            self._response_url = ""
            self.Status, self.Reason, self.PhysicalResourceId, self.Data = SUCCESS, "", "", {}
            self.StackId, self.RequestId, self.LogicalResourceId = (
                answering.envelope_text(self._event, key) for key in answering.ENVELOPE_KEYS
            )
        self._log_setup(self._event, context)
        unanswerable = answering.response_url_problem(event)
        if unanswerable:
            logger.error({"message": f"Dropped an event that cannot be answered: {unanswerable}"})
            return False
        self._response_url = event["ResponseURL"]
        problem = answering.envelope_problem(event)
        if problem is None:
            return True
        logger.error({"message": f"Malformed event: {problem}"})
        if event.get("RequestType") == "Delete":
            self._send()  # a Delete never fails, whatever else is wrong with it
        else:
            self._send(FAILED, answering.reason(f"Malformed event: {problem}"))
        return False

    def _log_setup(self, event: Mapping[str, Any], context: Any) -> None:
        """crhelper's JSON log fields from the event, tolerating absent keys, ``%`` and huge values."""
        fields = {
            key: answering.envelope_text(event, key)[:_LOGGED_ENVELOPE_LENGTH].replace("%", "%%")
            for key in ("RequestType", *answering.ENVELOPE_KEYS)
        }
        cast(Any, super())._log_setup(fields, context)

    def log_as(self, request_type: str, context: Any) -> None:
        """The JSON log fields for an event that is no CloudFormation request (a notification)."""
        self._log_setup({"RequestType": request_type}, context)

    def _wrap_function(self, func: DecisionFunction | None) -> None:
        """Run the registered function and record its decision as crhelper's answer fields."""
        try:
            decision = func(self._event, self._context) if func else None
        except Exception as error:  # the lifecycle returns failures; this is a bug's last resort
            logger.error({"message": "Unexpected error", "error": repr(error)}, exc_info=True)
            self.Status, self.Reason = FAILED, answering.reason(f"{type(error).__name__}: {error}")
            return
        if decision is None:
            return
        self.decision = decision
        self.Status, self.Reason = decision.status, decision.reason
        self.PhysicalResourceId, self.Data = decision.physical_id, dict(decision.data)

    def _send(
        self,
        status: str | None = None,
        reason: str = "",
        send_response: Callable[[str, dict[str, Any], object], None] | None = None,
    ) -> None:
        """crhelper's answer (its body), at most once per invocation, through :func:`answering.put_answer`."""
        with self._answer_lock:
            if self._answered:
                logger.warning(
                    {"message": "This event was answered already; not answering again", "status": status}
                )
                return
            self._answered = True
            if not (isinstance(self.PhysicalResourceId, str) and self.PhysicalResourceId):
                # CloudFormation rejects an answer without one (a timeout during Create, say).
                given = self._event.get("PhysicalResourceId")
                self.PhysicalResourceId = (
                    given if isinstance(given, str) and given else answering.made_up_physical_id(self._event)
                )
            try:
                cast(Any, super())._send(status, reason, send_response=send_response or self._put)
            except Exception as error:  # never let answering crash the invocation (Lambda would retry)
                logger.error({"message": "Could not answer CloudFormation", "error": type(error).__name__})

    def generate_physical_id(self, event: Any) -> str:
        """The physical id of an answer that has none: bounded, whatever the envelope."""
        return answering.made_up_physical_id(event if isinstance(event, Mapping) else {})

    def _put(self, url: str, body: dict[str, Any], _ssl_verify: object) -> None:
        refused = answering.refusal(body)
        if refused:
            logger.error({"message": f"Not answering: {refused}", "status": body.get("Status")})
            return
        remaining = getattr(self._context, "get_remaining_time_in_millis", lambda: 0)() / 1000
        stop_at = time.monotonic() + remaining - contract.SEND_DEADLINE_MARGIN_SECONDS
        answering.put_answer(url, body, stop_at=stop_at)

    def _set_timeout(self) -> None:
        """crhelper's timer, started earlier than its 0.5 s before the deadline: time for retries."""
        remaining = self._context.get_remaining_time_in_millis() / 1000
        lead = min(contract.TIMEOUT_ANSWER_SECONDS, remaining / 4)
        self._timer = threading.Timer(max(0.0, remaining - lead), self._timeout)
        self._timer.start()

    def _timeout(self) -> None:
        with self._answer_lock:
            if threading.current_thread() is not self._timer:
                return  # the timer of an earlier invocation, which ended without cancelling it in time
            if not self._may_answer():
                return
            logger.error({"message": "The function is about to time out: answering FAILED"})
            self._send(FAILED, answering.timeout_reason(self._event, self._context))

    def _may_answer(self) -> bool:
        """Whether this invocation may answer: always before a wait was handed over; after it, only
        when it claimed the request. A claim CloudWatch Logs could not decide lets only the first
        invocation answer (a poll leaves it to the next poll)."""
        if poll_rules.RULE_KEY not in self._event:
            return True
        claim = log_streams.claim(
            "|".join(answering.envelope_text(self._event, key) for key in answering.ENVELOPE_KEYS)
        )
        if claim == "claimed" or (claim == "unknown" and poll_rules.POLL_KEY not in self._event):
            return True
        logger.info({"message": "Not answering: the request was answered by another invocation, or may be"})
        if claim == "taken" and NOTIFIED_KEY not in self._event:
            poll_rules.remove(self._event)  # a scheduled poll whose answer came from elsewhere
        return False

    def _polling_init(self, event: dict[str, Any]) -> None:
        with self._answer_lock:  # waits for an answer the timer may be sending
            answered = self._answered
        if answered:
            # The timer answered FAILED while the work went on: no poller may answer again, so none
            # is set up, and a scheduled poll's rule is removed.
            if poll_rules.POLL_KEY in event:
                poll_rules.remove(event)
            return
        pending = self.decision.pending if self.decision is not None else None
        if poll_rules.POLL_KEY in event:  # a scheduled or notified poll: answer, and clean up, once done
            if (pending is None or self.Status == FAILED) and self._may_answer():
                poll_rules.remove(event)
                self._send_response = True
            return
        if pending is None or self.Status == FAILED:  # done, or no waiting: answer now
            self._send_response = True
            return
        try:
            poll_rules.set_up(self._event, self._context, pending)
        except Exception as error:
            logger.error({"message": "Could not set up the poller", "error": str(error)})
            if not self._may_answer():
                return
            poll_rules.remove(self._event)
            text = str(error) if isinstance(error, answering.RequestError) else outbound.error_text(error)
            self.Status = FAILED
            self.Reason = answering.reason(
                f"Harvest job {pending.job_id} is still IN_PROGRESS; polling it could not be set up: {text}"
            )
            self.Data = {}
            # An Update keeps its old physical id: a new one in a FAILED answer would be recorded, and
            # the rollback would then replace that job with a third one.
            self.PhysicalResourceId = self._event.get("PhysicalResourceId") or self.PhysicalResourceId
            self._send_response = True
