"""Sweep benchmark: does TPE with median pruning find the grid's best for half the epochs?

Run as ``python bench/bench_sweep.py [--epochs 8] [--seeds 0,1,2] [--reuse]``.

``grid``
    Trains every combination of learning rate x batch size x dropout (4 x 3 x 3 = 36) of
    ``small_cnn`` on ``digits`` for ``--epochs`` epochs with real TensorFlow, in this process, and
    records each one's validation accuracy per epoch (``bench/results/sweep_grid.json``;
    ``--reuse`` reads it back instead of training again). The grid's best is the best epoch value
    of the best combination, and its cost is every epoch of every combination.
``tpe``
    For each seed, a sweep over the same space with the strategy and pruner the server's sweep
    manager uses (``strategy="tpe"``, ``pruner="median"``: the samplers and pruners come from
    :mod:`lepton_lab.server.sweep_study`), asking and telling Optuna exactly as the manager does,
    epoch by epoch. Each trial's curve is the grid's recorded curve for the same combination, so
    the sweep's training is the grid's training replayed (a tabular benchmark, as HPOBench does):
    the figure measures the search, not the noise of retraining. A pruned trial costs the epochs
    it ran.

Targets (issue 10): the sweep's best within 0.5 points of the grid's best, with at most 50 % of the
grid's epochs; median of the seeds.

``overhead`` (``--overhead``)
    The server's own cost per trial: a 30-trial TPE + median-pruning sweep (2 in flight) on an
    in-process :class:`~lepton_lab.server.jobs.JobManager` whose trials are
    ``tests.sweep_fakes.SweepFakeExecutor`` jobs (real run directories, an epoch per poll, no
    TensorFlow), so what is timed is the sweep manager and the job manager, not training. Reported:
    seconds from the sweep manager's ``submit`` of a trial to its first batch event, and the sweep
    manager's CPU time per reported epoch (journal write, pruning check, stream message) and per
    trial end (tell, ask the next, submit it). A real worker adds its start-up (the TensorFlow
    import: ``bench/bench_executors.py`` measures it).
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from lepton_lab.core.sweep_spec import parse_sweep

RESULTS = Path(__file__).resolve().parent / "results"
LEARNING_RATES = [3e-4, 1e-3, 3e-3, 1e-2]
BATCH_SIZES = [32, 64, 128]
DROPOUTS = [0.0, 0.25, 0.5]
PATHS = ("train.learning_rate", "train.batch_size", "train.dropout")


def sweep_spec(epochs: int, trials: int, seed: int) -> Any:
    """The sweep under test: TPE + median pruning over the grid's values."""
    return parse_sweep(
        {
            "name": "bench",
            "base": {
                "dataset": {"name": "digits"},
                "model": {"preset": "small_cnn"},
                "train": {"epochs": epochs},
            },
            "space": {
                "train.learning_rate": {"type": "categorical", "choices": LEARNING_RATES},
                "train.batch_size": {"type": "categorical", "choices": BATCH_SIZES},
                "train.dropout": {"type": "categorical", "choices": DROPOUTS},
            },
            "strategy": "tpe",
            "pruner": "median",
            "max_trials": trials,
            "seed": seed,
        }
    )


def train_grid(epochs: int) -> dict[str, list[float]]:
    """Train every combination for real; return its validation accuracy per epoch, by key."""
    from lepton_lab.core import runner

    table: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as runs_dir:
        for combination in itertools.product(LEARNING_RATES, BATCH_SIZES, DROPOUTS):
            lr, batch_size, dropout = combination
            started = time.perf_counter()
            run = runner.train(
                dataset="digits",
                model="small_cnn",
                train={"epochs": epochs, "learning_rate": lr, "batch_size": batch_size, "dropout": dropout},
                name="grid",
                runs_dir=runs_dir,
            )
            curve = [float(v) for v in run.metrics()["val_accuracy"]]
            table[key(combination)] = curve
            print(f"  {key(combination):<28} best {max(curve):.4f}  ({time.perf_counter() - started:.1f} s)")
    return table


def key(combination: tuple[Any, ...]) -> str:
    return " ".join(f"{v:g}" for v in combination)


def run_sweep(table: dict[str, list[float]], epochs: int, trials: int, seed: int) -> dict[str, Any]:
    """Replay one TPE + median-pruning sweep over the recorded curves, as the server's manager would."""
    import optuna

    from lepton_lab.server import sweep_study

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spec = sweep_spec(epochs, trials, seed)
    study = optuna.create_study(
        direction=spec.objective.direction,
        sampler=sweep_study.make_sampler(spec, 0),
        pruner=sweep_study.make_pruner(spec),
    )
    spent = pruned = 0
    best = float("-inf")
    for _ in range(trials):
        trial = sweep_study.ask(study, spec)
        curve = table[key(tuple(trial.params[path] for path in PATHS))]
        value = float("-inf")
        for epoch, accuracy in enumerate(curve, start=1):
            spent += 1
            value = max(value, accuracy)
            trial.report(accuracy, epoch)
            if trial.should_prune():
                break
        if epoch < len(curve):
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            pruned += 1
        else:
            study.tell(trial, value)
        best = max(best, value)
    return {"seed": seed, "best": best, "epochs": spent, "pruned": pruned, "trials": trials}


def measure_overhead(trials: int = 30) -> dict[str, float]:
    """Run a fake-trial sweep on an in-process job manager; return the server-side costs."""
    import asyncio
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.sweep_fakes
    from lepton_lab.server.jobs import JobManager
    from lepton_lab.server.sweeps import SweepManager
    from tests.sweep_fakes import SweepFakeExecutor

    spec = {
        "name": "overhead",
        "base": {"dataset": {"name": "digits"}, "train": {"epochs": 8}},
        "space": {
            "train.learning_rate": {"type": "float", "low": 1e-5, "high": 1.0, "log": True},
            "train.batch_size": {"type": "categorical", "choices": [32, 64, 128]},
        },
        "strategy": "tpe",
        "pruner": "median",
        "max_trials": trials,
        "parallel": 2,
        "seed": 0,
    }
    cpu: dict[str, list[float]] = {"events": [], "finished": []}
    submitted: dict[str, float] = {}
    epochs = 0

    async def run(runs_dir: str) -> list[float]:
        nonlocal epochs
        jobs = JobManager(runs_dir, executor=SweepFakeExecutor(), slots=2, poll_interval_s=0.001)
        jobs.recover()
        jobs.start()
        sweeps = SweepManager(jobs)
        sweeps.start()
        submit, on_events, on_finished = jobs.submit, sweeps.job_events, sweeps.job_finished

        def timed_submit(data: Any) -> dict[str, Any]:
            started = time.time()
            job = submit(data)
            submitted[job["id"]] = started
            return job

        def job_events(job_id: str, events: list[dict[str, Any]]) -> None:
            nonlocal epochs
            started = time.process_time()
            on_events(job_id, events)
            cpu["events"].append(time.process_time() - started)
            epochs += sum(event.get("type") == "epoch" for event in events)

        def job_finished(job_id: str, job: dict[str, Any]) -> None:
            started = time.process_time()
            on_finished(job_id, job)
            cpu["finished"].append(time.process_time() - started)

        jobs.submit = timed_submit  # type: ignore[method-assign]
        sweeps.job_events, sweeps.job_finished = job_events, job_finished  # type: ignore[method-assign]
        jobs.listeners[:] = [sweeps]
        sweep_id = sweeps.create(spec)["id"]
        while sweeps.get(sweep_id)["state"] == "running":
            await asyncio.sleep(0.01)
        await sweeps.stop()
        await jobs.stop()
        delays = []
        for job_id, started in submitted.items():
            lines = (Path(runs_dir) / job_id / "events.jsonl").read_text().splitlines()
            first = next(json.loads(line) for line in lines if '"batch"' in line)
            delays.append(first["t"] - started)
        return delays

    with tempfile.TemporaryDirectory() as runs_dir:
        delays = asyncio.run(run(runs_dir))
    return {
        "trials": len(submitted),
        "submit_to_first_batch_s_median": statistics.median(delays),
        "cpu_ms_per_reported_epoch": 1000 * sum(cpu["events"]) / max(epochs, 1),
        "cpu_ms_per_trial_end_median": 1000 * statistics.median(cpu["finished"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--reuse", action="store_true", help="read the grid's curves from the last run")
    parser.add_argument("--overhead", action="store_true", help="measure the server's cost per trial only")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    if args.overhead:
        overhead = measure_overhead()
        for name, value in overhead.items():
            print(f"{name}: {value:.4g}")
        (RESULTS / "sweep_overhead.json").write_text(json.dumps(overhead, indent=1))
        return
    RESULTS.mkdir(exist_ok=True)
    grid_file = RESULTS / "sweep_grid.json"
    if args.reuse and grid_file.exists():
        table = json.loads(grid_file.read_text())["curves"]
    else:
        combinations = len(LEARNING_RATES) * len(BATCH_SIZES) * len(DROPOUTS)
        print(f"grid: {combinations} combinations x {args.epochs} epochs")
        table = train_grid(args.epochs)
        grid_file.write_text(json.dumps({"epochs": args.epochs, "curves": table}, indent=1))
    grid_best = max(max(curve) for curve in table.values())
    grid_epochs = sum(len(curve) for curve in table.values())
    sweeps = [run_sweep(table, args.epochs, args.trials, int(s)) for s in args.seeds.split(",")]
    for r in sweeps:
        print(
            f"seed {r['seed']}: best {r['best']:.4f} ({100 * (grid_best - r['best']):.2f} points below "
            f"the grid's), {r['epochs']} epochs ({r['epochs'] / grid_epochs:.0%} of the grid's), "
            f"{r['pruned']} of {r['trials']} trials pruned"
        )
    gap = statistics.median(100 * (grid_best - r["best"]) for r in sweeps)
    share = statistics.median(r["epochs"] / grid_epochs for r in sweeps)
    print(f"grid: best {grid_best:.4f} for {grid_epochs} epochs")
    print(f"median over seeds: {gap:.2f} points below the grid's best, {share:.0%} of its epochs")
    summary = {
        "grid_best": grid_best,
        "grid_epochs": grid_epochs,
        "sweeps": sweeps,
        "gap_points": gap,
        "epoch_share": share,
    }
    (RESULTS / "sweep.json").write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
