"""The sweep manager: hyperparameter sweeps whose trials are ordinary jobs, chosen and pruned by Optuna.

A sweep (:class:`~lepton_lab.core.sweep_spec.SweepSpec`) asks its Optuna study for each trial's
values, submits :func:`~lepton_lab.core.sweep_spec.apply_params` of them as a job named
``"<sweep name> #<n>"`` and tagged ``sweep:<id>`` and ``trial:<n>``, and keeps ``parallel``
trials in flight until it has run its trials. The manager listens to the job manager
(:attr:`~lepton_lab.server.jobs.JobManager.listeners`): every epoch event's objective metric goes
to ``trial.report``; a trial the pruner stops is cancelled as ``pruned`` (events and checkpoint
kept); a trial that ends tells the study its best epoch value (Keras Tuner's rule), and a failed or
cancelled one ``FAIL``.

The study is a journal file under the runs directory (:mod:`~lepton_lab.server.sweep_run`), so a
restarted server resumes a running sweep: the trials whose jobs were re-attached or queued again go
on reporting, those that ended meanwhile are told, an ``interrupted`` trial's job is resumed, and a
trial that was asked but never submitted is asked again with the same values. Optuna is imported
only when a sweep is created or loaded.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

from lepton_lab.core.events import read_events
from lepton_lab.core.specs import TAGS_MAX, SpecError
from lepton_lab.core.sweep_spec import parse_sweep
from lepton_lab.server import access, sweep_study
from lepton_lab.server.job_errors import JobError, JobNotFound, JobStateError
from lepton_lab.server.jobs import JobManager
from lepton_lab.server.ownership import RunsDirTaken
from lepton_lab.server.recovery import TAKEOVER_INTERVAL_S
from lepton_lab.server.storage import STORAGE_ERRORS, refuse_when_full
from lepton_lab.server.sweep_publish import Throttle
from lepton_lab.server.sweep_run import SWEEP_FILE, SWEEPS_DIR, SweepRun, TrialRecord, active, trial_spec

#: Seconds between two ``sweep`` messages of one sweep on the all-jobs stream (a change waits for it).
PUBLISH_INTERVAL_S = 0.25

#: Times a trial's interrupted job is resumed before the trial counts as failed.
MAX_RESUMES = 2

#: What a trial's job may fail to do without stopping the sweep: the trial fails instead.
_SUBMIT_ERRORS: tuple[type[Exception], ...] = (SpecError, JobError, RunsDirTaken, *STORAGE_ERRORS)
#: What resuming a trial's interrupted job may meet: the trial fails instead.
_RESUME_ERRORS: tuple[type[Exception], ...] = (JobError, RunsDirTaken, *STORAGE_ERRORS)


class SweepNotFound(JobError):
    """No sweep has this id."""

    http_status = 404


class SweepStateError(JobError):
    """The sweep's state does not allow the operation (cancel a finished sweep)."""

    http_status = 409


class SweepManager:
    """Run the sweeps of one runs directory on a job manager.

    Parameters
    ----------
    jobs
        The job manager the trials run on; the sweep manager listens to it.
    log
        Logger.
    publish_interval_s
        Seconds between two stream messages about one sweep.
    """

    def __init__(
        self,
        jobs: JobManager,
        *,
        log: logging.Logger | None = None,
        publish_interval_s: float = PUBLISH_INTERVAL_S,
    ) -> None:
        self.jobs = jobs
        self.root: Path = jobs.runs_dir / SWEEPS_DIR
        self.log = log or jobs.log
        #: Sends ``{"type": "sweep"}`` messages, a few a second per sweep at most.
        self.throttle = Throttle(self._send, publish_interval_s)
        self.sweeps: dict[str, SweepRun] = {}
        self._trial_of_job: dict[str, str] = {}  # job id -> sweep id, for trials in flight
        self._tasks: set[asyncio.Task[Any]] = set()
        self._started = False
        self._stopped = False
        jobs.listeners.append(self)
        jobs.subscriptions.list_sweeps = self.list_sweeps
        self._read_all()

    # -- start-up and shutdown -----------------------------------------------------------------

    def _read_all(self) -> None:
        """Read every sweep's ``sweep.json`` (cheap: no Optuna, no study)."""
        self.sweeps = {}
        if not self.root.is_dir():
            return
        for directory in sorted(self.root.iterdir()):
            if not (directory / SWEEP_FILE).is_file():
                continue  # being created (the study comes first), or not a sweep
            try:
                self.sweeps[directory.name] = SweepRun.read(directory)
            except (OSError, ValueError, KeyError, TypeError) as error:
                self.log.warning("Lepton Lab: sweep %s is unreadable (%s); skipped", directory.name, error)

    def start(self) -> None:
        """Resume the running sweeps (once this server manages the runs directory's jobs)."""
        if self._started:
            return
        self._started = True
        if self.jobs.read_only:
            self._spawn(self._resume_when_managing())
            return
        self._resume_all()

    async def _resume_when_managing(self) -> None:
        while self.jobs.read_only or not self.jobs._started:
            await asyncio.sleep(TAKEOVER_INTERVAL_S)
        self._read_all()  # the other server may have created sweeps meanwhile
        self._resume_all()

    def _resume_all(self) -> None:
        for run in list(self.sweeps.values()):
            if run.state == "running" and not self._stopped:
                try:
                    self._resume(run)
                except Exception:  # one damaged sweep must not keep the others from resuming
                    self.log.exception("Lepton Lab: sweep %s could not be resumed", run.id)

    async def stop(self) -> None:
        """Stop driving sweeps (their trials' jobs go on; a restarted server resumes the sweeps)."""
        self._stopped = True
        self.throttle.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self in self.jobs.listeners:
            self.jobs.listeners.remove(self)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- queries -------------------------------------------------------------------------------

    def _refresh_read_only(self) -> None:
        """On a read-only server, read the sweeps again: the managing server changes them."""
        if self.jobs.read_only:
            self._read_all()

    def _run(self, sweep_id: str) -> SweepRun:
        self._refresh_read_only()
        run = self.sweeps.get(sweep_id)
        if run is None:
            raise SweepNotFound(f"no sweep with id {sweep_id!r}; list sweeps with GET /lepton-lab/api/sweeps")
        self._loaded(run)
        return run

    def _loaded(self, run: SweepRun) -> SweepRun:
        """``run`` with its study and trials loaded (a finished sweep's, on first look)."""
        if run.study is None:
            run.load(self._jobs_by_trial(run))
        return run

    def _jobs_by_trial(self, run: SweepRun) -> dict[int, str]:
        """Job id of each trial number of ``run``, from the jobs' ``sweep:``/``trial:`` tags."""
        found: dict[int, str] = {}
        for record in self.jobs.store.list():
            tags = record.get("tags") or []
            if f"sweep:{run.id}" in tags:
                for tag in tags:
                    if tag.startswith("trial:") and tag[6:].isdigit():
                        found[int(tag[6:])] = record["id"]
        return found

    def parallel(self, run: SweepRun) -> int:
        """Trials of ``run`` in flight at once: its ``parallel``, else the server's job slots."""
        return run.spec.parallel or self.jobs.slots

    def trial_views(self, run: SweepRun) -> list[dict[str, Any]]:
        """Every counted trial of ``run`` as JSON, by number."""
        store = self.jobs.store
        return [run.trial_view(t, store.get(t.job_id) if t.job_id else None) for t in run.counted()]

    def view(self, run: SweepRun) -> dict[str, Any]:
        """Return the JSON form of ``run``."""
        return self._loaded(run).view(self.trial_views(run), self.parallel(run))

    def list_sweeps(self) -> list[dict[str, Any]]:
        """Every sweep, newest first (unreadable studies are logged and left out)."""
        self._refresh_read_only()
        views = []
        for run in sorted(self.sweeps.values(), key=lambda r: (r.created, r.id), reverse=True):
            try:
                views.append(self.view(run))
            except Exception:
                self.log.exception("Lepton Lab: sweep %s could not be read", run.id)
        return views

    def get(self, sweep_id: str) -> dict[str, Any]:
        """One sweep."""
        return self.view(self._run(sweep_id))

    def trials(self, sweep_id: str) -> list[dict[str, Any]]:
        """Return the trials of one sweep, by number."""
        return self.trial_views(self._run(sweep_id))

    # -- commands ------------------------------------------------------------------------------

    def create(self, data: Any) -> dict[str, Any]:
        """Validate a SweepSpec, create its study and start its first trials. Returns the sweep.

        Every check a trial's job would fail (space, dataset access, GPUs, tags) happens here,
        before any trial starts.
        """
        self.jobs._check_manager("a new sweep cannot be started here")
        spec = parse_sweep(data)
        if len(spec.base.tags) > TAGS_MAX - 2:
            raise SpecError([f"base.tags: a sweep adds 2 tags to each trial; give at most {TAGS_MAX - 2}"])
        access.allowed_dataset(spec.base, self.jobs.cwd, self.jobs.dataset_roots)
        if self.jobs.scheduler.places_gpus:
            self.jobs.allocator.check_request(spec.base.resources.gpus)
        with refuse_when_full(self.jobs.runs_dir, "the new sweep's study could not be written"):
            run = SweepRun.create(self.root, spec)
        self.sweeps[run.id] = run
        self.log.info("Lepton Lab: sweep %s (%s, %d trials) created", run.id, spec.strategy, run.total)
        self._fill(run)
        self.throttle.now(run.id)
        return self.view(run)

    def cancel(self, sweep_id: str) -> dict[str, Any]:
        """Cancel a running sweep: no more trials; its queued trials cancelled, its running ones stopped."""
        run = self._run(sweep_id)
        self.jobs._check_manager(f"sweep {sweep_id} cannot be cancelled here")
        if run.state != "running":
            raise SweepStateError(f"sweep {sweep_id} is already {run.state}; there is nothing to cancel")
        run.state, run.finished = "cancelled", time.time()
        run.save()
        for trial in run.in_flight():
            if trial.job_id is not None:
                try:
                    self.jobs.cancel(trial.job_id)  # a queued one ends now (job_finished tells the study)
                except (JobStateError, JobNotFound):
                    pass  # it is ending anyway
        self.log.info("Lepton Lab: sweep %s cancelled", run.id)
        self.throttle.now(run.id)
        return self.view(run)

    # -- trials --------------------------------------------------------------------------------

    def _fill(self, run: SweepRun) -> None:
        """Ask for and submit trials while the sweep runs, has trials to go and room in flight.

        A study that cannot be asked (its journal unwritable, say) ends the sweep ``failed``
        rather than leaving it running with nothing in flight.
        """
        try:
            while (
                run.state == "running"
                and not self._stopped
                and len(run.in_flight()) < self.parallel(run)
                and len(run.counted()) < run.total
            ):
                self._launch(run)
        except Exception:
            self.log.exception("Lepton Lab: sweep %s could not ask for its next trial; it failed", run.id)
            run.state, run.finished = "failed", time.time()
            try:
                run.save()
            except STORAGE_ERRORS:
                pass  # a restarted server finds it running and tries again
            self.throttle.now(run.id)
            return
        self._maybe_finish(run)

    def _launch(self, run: SweepRun) -> None:
        """Ask the study for one trial and submit its job (a job that cannot be submitted fails the trial)."""
        asked = sweep_study.ask(run.study, run.spec)
        trial = TrialRecord(asked.number, asked._trial_id, dict(asked.params), handle=asked)
        run.trials[trial.number] = trial
        try:
            job = self.jobs.submit(trial_spec(run.spec, run.id, trial))
        except _SUBMIT_ERRORS as error:
            self.log.warning("Lepton Lab: sweep %s trial %d could not start: %s", run.id, trial.number, error)
            trial.error = str(error)[:1000]
            asked.set_user_attr("error", trial.error)
            self._tell(run, trial, "fail")
            return
        trial.job_id = job["id"]
        self._trial_of_job[trial.job_id] = run.id
        asked.set_user_attr("job_id", trial.job_id)

    def _tell(self, run: SweepRun, trial: TrialRecord, state: str) -> None:
        """Tell the study how ``trial`` ended: complete (with its best value), pruned or fail."""
        optuna_state = sweep_study.trial_state(state.upper())
        value = trial.best(run.spec.objective.direction or "maximize") if state == "complete" else None
        run.study.tell(trial.handle or trial.number, value, state=optuna_state)
        trial.state, trial.handle = state, None
        if trial.job_id is not None:
            self._trial_of_job.pop(trial.job_id, None)
        if state == "complete":
            self._refresh_importance(run)

    def _conclude(self, run: SweepRun, trial: TrialRecord, status: str) -> None:
        """Tell the study how the trial's job ended, resume an interrupted one, and go on with the sweep."""
        if status == "interrupted" and run.state == "running" and trial.resumes < MAX_RESUMES:
            trial.resumes += 1
            try:
                self.jobs.resume(trial.job_id or "")
                self.log.info("Lepton Lab: sweep %s resumed trial %d's job", run.id, trial.number)
                return
            except _RESUME_ERRORS as error:
                self.log.warning(
                    "Lepton Lab: sweep %s: trial %d not resumed: %s", run.id, trial.number, error
                )
        if status == "completed" and trial.intermediate:
            self._tell(run, trial, "complete")
        elif status == "pruned":
            self._tell(run, trial, "pruned")
        else:
            if status == "completed":
                self.log.warning(
                    "Lepton Lab: sweep %s trial %d completed without reporting %s; counted as failed",
                    run.id, trial.number, run.spec.objective.metric,
                )  # fmt: skip
            self._tell(run, trial, "fail")
        self._fill(run)

    def _maybe_finish(self, run: SweepRun) -> None:
        """End a running sweep whose trials have all run: completed, or failed if none gave a value."""
        if run.state != "running" or run.in_flight() or len(run.counted()) < run.total:
            return
        ran = any(t.state in ("complete", "pruned") for t in run.counted())
        run.state, run.finished = ("completed" if ran else "failed"), time.time()
        run.save()
        self.log.info("Lepton Lab: sweep %s %s", run.id, run.state)
        self.throttle.now(run.id)

    # -- following the jobs (JobManager listener) ----------------------------------------------

    def _trial(self, job_id: str) -> tuple[SweepRun, TrialRecord] | tuple[None, None]:
        sweep_id = self._trial_of_job.get(job_id)
        run = self.sweeps.get(sweep_id) if sweep_id else None
        trial = run.record(job_id) if run is not None else None
        if run is None or trial is None or trial.state != "running":
            return None, None
        return run, trial

    def job_events(self, job_id: str, events: list[dict[str, Any]]) -> None:
        """Report a trial's new epoch values; cancel it as pruned when the pruner says so."""
        run, trial = self._trial(job_id)
        if run is None or trial is None or not trial.report(events, run.spec.objective.metric):
            return
        if run.state == "running" and not trial.pruning and trial.handle.should_prune():
            trial.pruning = True
            try:
                self.jobs.cancel(job_id, status="pruned")
                self.log.info("Lepton Lab: sweep %s pruned trial %d", run.id, trial.number)
            except (JobStateError, JobNotFound):
                pass  # its worker already exited: the outcome it recorded stands
        self._changed(run)

    def job_finished(self, job_id: str, job: dict[str, Any]) -> None:
        """Tell the study how a trial ended and start the next ones."""
        run, trial = self._trial(job_id)
        if run is None or trial is None:
            return
        self._conclude(run, trial, job["status"])
        self._changed(run)

    # -- resuming after a restart --------------------------------------------------------------

    def _resume(self, run: SweepRun) -> None:
        """Take a running sweep over from a previous server (see the module docstring)."""
        run.study, run.trials = None, {}  # what a read-only look loaded may be stale by now
        self._loaded(run)
        store = self.jobs.store
        for trial in [t for t in run.trials.values() if t.state == "running"]:
            if trial.job_id is None:  # asked, never submitted: ask its values again
                handle = sweep_study.handle(run.study, trial.trial_id)
                handle.set_user_attr("orphan", True)
                if set(trial.params) == set(run.spec.space):
                    run.study.enqueue_trial(trial.params)
                trial.orphan = True
                run.study.tell(handle, state=sweep_study.trial_state("FAIL"))
                trial.state = "fail"
                continue
            trial.handle = sweep_study.handle(run.study, trial.trial_id)
            self._trial_of_job[trial.job_id] = run.id
            record = store.get(trial.job_id)
            if record is None:  # its run was deleted
                self._tell(run, trial, "fail")
                continue
            events, _ = read_events(Path(record["run_dir"]) / "events.jsonl")
            trial.report(events, run.spec.objective.metric)  # epochs it trained while no server listened
            if not active(record):
                self._conclude(run, trial, record["status"])
        self.log.info(
            "Lepton Lab: sweep %s resumed (%d of %d trials asked)", run.id, len(run.counted()), run.total
        )
        self._fill(run)
        self.throttle.now(run.id)

    # -- parameter importance ------------------------------------------------------------------

    def _refresh_importance(self, run: SweepRun) -> None:
        """Recompute the sweep's fANOVA importance in a thread, then send the sweep."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop to run it in (a script driving the manager directly)
        self._spawn(self._importance(run))

    async def _importance(self, run: SweepRun) -> None:
        if await run.update_importance(self.log):
            try:
                run.save()
            except STORAGE_ERRORS as error:  # shown now all the same; computed again after a restart
                self.log.warning("Lepton Lab: sweep %s: importance not saved (%s)", run.id, error)
            self.throttle.changed(run.id)

    # -- stream messages -----------------------------------------------------------------------

    def _changed(self, run: SweepRun) -> None:
        """Send ``run`` on the all-jobs stream (throttled)."""
        self.throttle.changed(run.id)

    def _send(self, sweep_id: str) -> None:
        """Send ``{"type": "sweep", "sweep": ...}`` on the all-jobs stream."""
        run = self.sweeps.get(sweep_id)
        if run is None or self._stopped:
            return
        try:
            self.jobs.broadcaster.publish({"type": "sweep", "sweep": self.view(run)})
        except Exception:
            self.log.exception("Lepton Lab: sweep %s could not be sent", run.id)
