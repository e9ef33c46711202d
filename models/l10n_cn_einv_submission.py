"""The one submission engine: what every record sent to a tax platform goes through.

Blue invoices, red-letter forms and red invoices (a credit note's own
submission) differ only in the step that talks to the platform
(``_l10n_cn_einv_step``) and in their field names (``_l10n_cn_einv_queue``).
Everything around the step is written here once:

- claim the next due records with ``FOR NO KEY UPDATE SKIP LOCKED`` (two
  workers never take the same one; nobody waits on a row somebody else holds),
  committing after each batch so that a crash loses little (serial numbers are
  fixed, so a resend never issues twice);
- lock records a person acts on (``NOWAIT``: a double click is refused);
- the outcome of a step: a passing failure (TransientError) comes back after
  the company's next wait, or fails once the waits are used up; a lapsed
  tax-bureau login (LoginRequired) waits, with everything else of the company,
  until a person logs in again and resumes; a dead serial number
  (SerialRejected) gets a new one and is sent again after the next wait; any
  other refusal fails for a person to look at, with an activity for the
  managers.
"""

import logging
import time
from datetime import timedelta

from odoo import SUPERUSER_ID, _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..fapiao.errors import LoginRequired, PlatformError, SerialRejected, TransientError
from ..fapiao.parallel import NOT_SENT, ParallelSender
from .l10n_cn_einv_guard import check_access
from .l10n_cn_einv_lang import error_message, in_writer_lang, writer_lang

_logger = logging.getLogger(__name__)

WAITING_LOGIN = "waiting_login"
LOGIN_ACTIVITY_SUMMARY = "l10n_cn_einv_login"


class L10nCnEinvSubmission(models.AbstractModel):
    _name = "l10n_cn_einv.submission"
    _description = "E-Invoice Platform Submission"

    # Field names of a model using the engine, and its states:
    #   state, attempts, next_attempt, error: fields; due: states the queue sends when their time
    #   comes; failed: the state a person must look at.
    _l10n_cn_einv_queue = {}
    # Whether the model's step splits into a platform call and its outcome
    # (_l10n_cn_einv_prepare_step), so that several records' requests can be in flight at once.
    _l10n_cn_einv_parallel_steps = False

    # --- what each model says ----------------------------------------------------------------

    def _l10n_cn_einv_step(self, client):
        """Talk to the platform once for this record (rows locked by the caller); raise a
        fapiao.errors.PlatformError (or UserError) the engine turns into the next state."""
        raise NotImplementedError

    def _l10n_cn_einv_bookkeep(self, vals, note=None):
        """Write the flow's own fields (see l10n_cn_einv.flow.mixin)."""
        raise NotImplementedError

    def _l10n_cn_einv_renew_serial(self):
        """The platform holds the serial number as dead: continue under a new one."""
        raise NotImplementedError

    def _l10n_cn_einv_alert_failed(self):
        """Tell the managers that this record failed (its error field says why)."""
        raise NotImplementedError

    def _l10n_cn_einv_error_text(self, error):
        """What the error field says of a failure: in the language of its reader only (the user who
        acted; for a cron, the company's: see l10n_cn_einv_lang)."""
        return error_message(error, writer_lang(self.env, self.company_id))

    def _l10n_cn_einv_busy_message(self):
        return _("These records are being sent to the tax platform right now by someone else; try again shortly.")

    # --- locks and claims ------------------------------------------------------------------------

    def _l10n_cn_einv_lock(self, nowait=False):
        """Lock the rows for the rest of the transaction, so that two workers (or a double click)
        never act on the same record at once. NO KEY UPDATE: strong enough for that, and it lets
        foreign-key checks (log lines written on another connection) through."""
        if not self:
            return
        try:
            self.env.cr.execute(SQL("SELECT id FROM %s WHERE id IN %s FOR NO KEY UPDATE %s",
                                    SQL.identifier(self._table), tuple(self.ids),
                                    SQL("NOWAIT") if nowait else SQL()))
        except Exception as error:
            if getattr(error, "pgcode", None) == "55P03":  # lock_not_available
                raise UserError(self._l10n_cn_einv_busy_message()) from None
            raise
        self.invalidate_recordset()

    @api.model
    def _l10n_cn_einv_claim(self, condition, company_ids=None, limit=100, after_id=0):
        """The next records matching ``condition`` (SQL) whose time has come, locked; rows locked
        by another worker are skipped."""
        queue = self._l10n_cn_einv_queue
        self.flush_model([queue["state"], queue["next_attempt"]])
        self.env.cr.execute(SQL("""
            SELECT id FROM %(table)s
             WHERE id > %(after_id)s AND (%(condition)s)
               AND (%(next)s IS NULL OR %(next)s <= NOW() AT TIME ZONE 'UTC')
               %(companies)s
             ORDER BY id
             LIMIT %(limit)s
             FOR NO KEY UPDATE SKIP LOCKED
        """, table=SQL.identifier(self._table), after_id=after_id, condition=condition,
            next=SQL.identifier(queue["next_attempt"]),
            companies=self._l10n_cn_einv_company_filter(company_ids), limit=limit))
        return self.browse([row[0] for row in self.env.cr.fetchall()])

    @staticmethod
    def _l10n_cn_einv_company_filter(company_ids):
        """The SQL condition of the crons' ``company_ids`` (all companies when empty)."""
        return SQL("AND company_id IN %s", tuple(company_ids)) if company_ids else SQL()

    # --- one attempt and what it gives ---------------------------------------------------------------

    def _l10n_cn_einv_submit(self, client, after_each=None):
        """Send these claimed records (what a model does around the steps goes here)."""
        self._l10n_cn_einv_send(client, after_each=after_each)

    def _l10n_cn_einv_send(self, client, after_each=None, deadline=None):
        """One step for each record (rows locked by the caller) through one provider, several
        requests in flight at once where the model and the company allow it (each record's step
        is prepared here, its platform call runs in a sending thread, its outcome is written here
        as soon as it comes). Once the tax-bureau login lapsed, the company's records not sent yet
        wait with the one that met it. ``deadline``: a callable saying whether to stop; the records
        left go back to the queue untouched (``_l10n_cn_einv_unsent``)."""
        steps = {}
        self._l10n_cn_einv_prefetch()
        for record in self:
            try:
                steps[record.id] = record._l10n_cn_einv_prepare_step(client)
            except (PlatformError, UserError) as error:     # refused before anything is sent
                record._l10n_cn_einv_settle_error(error)
                if after_each:
                    after_each(record)
        login_error, not_sent = None, []
        sender = ParallelSender(self._l10n_cn_einv_width(), deadline, stop_on=(LoginRequired,))
        for record_id, outcome in sender.run({record_id: call for record_id, (call, _finish) in steps.items()}):
            record = self.browse(record_id)
            if outcome is NOT_SENT:
                not_sent.append(record_id)
                continue
            try:
                if isinstance(outcome, Exception):
                    raise outcome
                steps[record_id][1](outcome)
            except LoginRequired as error:
                sender.stop()
                login_error = login_error or error
                not_sent.append(record_id)
                continue
            except (PlatformError, UserError) as error:
                record._l10n_cn_einv_settle_error(error)
            if after_each:
                after_each(record)
        left = self.browse(not_sent)
        if login_error:
            left._l10n_cn_einv_wait_for_login(login_error)
        else:
            left._l10n_cn_einv_unsent()

    def _l10n_cn_einv_prefetch(self):
        """Read together what the steps of these records read (a model's documents), rather than
        record by record."""

    def _l10n_cn_einv_width(self):
        """How many of these records' requests may be in flight at once: the company's setting for
        models whose step splits. One at a time in a test's single-cursor mode, where every
        connection is the one transaction, serialised by a lock the sending threads would wait for."""
        if not self._l10n_cn_einv_parallel_steps or len(self) < 2 or self.env.registry.in_test_mode():
            return 1
        return max(1, min(len(self), self.company_id[:1]._l10n_cn_einv_parallel_requests()))

    def _l10n_cn_einv_prepare_step(self, client):
        """The step in two halves: ``(call, finish)``, where ``call()`` talks to the platform only
        (in a sending thread: no ORM, no record) and ``finish(answer)`` writes what it said; an
        error either raises goes to the engine. A model whose step does not split
        (``_l10n_cn_einv_parallel_steps`` false) takes it whole in ``finish``, one at a time."""
        return (lambda: None), (lambda _answer: self._l10n_cn_einv_step(client))

    def _l10n_cn_einv_settle_error(self, error):
        """What a failed step (other than a lapsed login) gives for this record."""
        if isinstance(error, SerialRejected):
            # nothing was done under it: the same submission continues under a new serial number
            self._l10n_cn_einv_renew_serial()
            self._l10n_cn_einv_schedule_retry(error)
        elif isinstance(error, TransientError):
            self._l10n_cn_einv_schedule_retry(error)
        else:
            self._l10n_cn_einv_fail(error)

    def _l10n_cn_einv_unsent(self):
        """Records a batch did not get to (its time ran out): back to the queue as they were."""

    def _l10n_cn_einv_schedule_retry(self, error, **vals):
        """A passing failure: sent again after the company's next wait (at least what the platform
        asked), or failed once the waits are used up. ``vals``: more fields to write."""
        queue = self._l10n_cn_einv_queue
        waits = self.company_id._l10n_cn_einv_retry_waits()
        attempts = self[queue["attempts"]]
        if attempts >= len(waits):
            self._l10n_cn_einv_fail(error, **vals)
            return
        self._l10n_cn_einv_bookkeep({
            **self._l10n_cn_einv_retry_values(),
            queue["attempts"]: attempts + 1,
            queue["next_attempt"]: fields.Datetime.now() + timedelta(seconds=max(waits[attempts],
                                                                                 error.retry_after or 0)),
            queue["error"]: self._l10n_cn_einv_error_text(error),
            **vals,
        })

    def _l10n_cn_einv_retry_values(self):
        """The fields a record waiting for its retry gets (its state in the queue)."""
        return {}

    def _l10n_cn_einv_fail(self, error, **vals):
        """A person must look: failed, with the reason, and the managers are told."""
        queue = self._l10n_cn_einv_queue
        self._l10n_cn_einv_bookkeep({queue["state"]: queue["failed"], queue["next_attempt"]: False,
                                     queue["error"]: self._l10n_cn_einv_error_text(error), **vals})
        self._l10n_cn_einv_alert_failed()

    def _l10n_cn_einv_wait_for_login(self, error):
        """The drawer's tax-bureau login lapsed: nothing is issued until a person logs in again.
        The records wait (same serial numbers), and the managers are asked to log in once."""
        if not self:
            return
        queue = self._l10n_cn_einv_queue
        self._l10n_cn_einv_bookkeep({queue["state"]: WAITING_LOGIN, queue["next_attempt"]: False,
                                     queue["error"]: self._l10n_cn_einv_error_text(error)})
        for company in self.company_id:
            company._l10n_cn_einv_ask_for_login(error)

    def _l10n_cn_einv_resume_values(self):
        """The fields of a record that waited for the login, once it resumes."""
        raise NotImplementedError

    def action_l10n_cn_einv_resume_after_login(self):
        """Resume after login button: the wizard logging the drawer in again for these records'
        company (l10n_cn_einv.login.wizard)."""
        check_access(self, "manager")
        result = None
        for company in self.company_id:
            result = company.action_l10n_cn_einv_resume_after_login()
        return result

    def _l10n_cn_einv_resume(self):
        """After the login: back to where they were, due at once."""
        queue = self._l10n_cn_einv_queue
        for record in self.filtered(lambda r: r[queue["state"]] == WAITING_LOGIN):
            record._l10n_cn_einv_bookkeep({**record._l10n_cn_einv_resume_values(), queue["next_attempt"]: False,
                                           queue["attempts"]: 0, queue["error"]: False})

    # --- the cron loop ---------------------------------------------------------------------------------

    @api.model
    def _l10n_cn_einv_run_queue(self, condition, company_ids=None, *, limit=None, batch_size=100,
                                after_each=None, time_budget=None):
        """Claim and send what is due, ``batch_size`` at a time, one provider per company for the
        whole run, committing after each batch where commits are allowed (crons, batch paths); no
        batch is claimed once ``time_budget`` seconds have passed. Returns how many records were
        processed."""
        clients = {}
        processed, last_id = 0, 0
        can_commit = self._l10n_cn_einv_can_commit()
        until = time.monotonic() + time_budget if time_budget else None
        try:
            while (limit is None or processed < limit) and (until is None or time.monotonic() < until):
                if can_commit:
                    # Claim in a fresh READ COMMITTED transaction: under Odoo's REPEATABLE READ a row
                    # another worker has just finished would abort us with a serialization failure
                    # instead of being skipped.
                    self._l10n_cn_einv_commit()
                    self.env.cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
                size = batch_size if limit is None else min(batch_size, limit - processed)
                records = self._l10n_cn_einv_claim(condition, company_ids, size, last_id)
                if not records:
                    break
                last_id = max(records.ids)
                records.invalidate_recordset()
                for company, company_records in records.grouped("company_id").items():
                    if company not in clients:
                        router = self.env["l10n_cn_einv.log"]._l10n_cn_einv_router(company)
                        clients[company] = (company._l10n_cn_einv_provider(exchange_hook=router), router)
                    client, router = clients[company]
                    router.remember(company_records)
                    # what a cron writes (chatter, errors) is in the company's language
                    in_writer_lang(company_records, company)._l10n_cn_einv_submit(client, after_each=after_each)
                processed += len(records)
                if can_commit:
                    self._l10n_cn_einv_commit()
        finally:
            for client, _router in clients.values():
                client.close()
        return processed

    @api.model
    def _l10n_cn_einv_commit(self):
        """Commit the work so far. Only where _l10n_cn_einv_can_commit() says so (crons and batch
        paths): their results must survive a crash of the rest of the batch, and another worker
        must see what is in flight (DESIGN: reliability)."""
        self.env.cr.commit()  # pylint: disable=invalid-commit

    @api.model
    def _l10n_cn_einv_can_commit(self):
        # The context flag lets a test run the production commit path on its own cursors; only as
        # the superuser, since any RPC caller chooses its context.
        return (self.env.uid == SUPERUSER_ID and self.env.context.get("l10n_cn_einv_commit")) \
            or self.env["account.move.send"]._can_commit()
