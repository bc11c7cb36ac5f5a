"""Export sizes, accuracy and latency for every format x quantization (not part of the test suite).

Trains one model (digits by default; ``--dataset fashion_mnist --subset N`` for Fashion-MNIST),
exports it in every combination of ``lepton_lab.core.export`` and prints the table: size (and
its ratio to the model's float32 weights), test accuracy, change and agreement against the
Keras model (from each export.json, scored in the export's own runtime), and latency per call
at batch 1 and 32. Latencies are measured here again, interleaved: each round times one call
of every export (and of the Keras model, as a ``tf.function``) in turn, so machine load hits
all of them alike; medians over the rounds.

Usage::

    python bench/bench_export.py [--dataset digits] [--epochs 10] [--rounds 200]

Results are printed and written to ``bench/results/export_<dataset>.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lepton_lab.core import datasets
from lepton_lab.core.export import export_model
from lepton_lab.core.export.inputs import raw_examples
from lepton_lab.core.export.layout import QUANTIZE_BY_FORMAT
from lepton_lab.core.runner import train

RESULTS = Path(__file__).resolve().parent / "results"
BATCHES = (1, 32)


def _predictor(run_path: Path, manifest: dict) -> object:
    from lepton_lab.core.export import onnx, savedmodel, tflite

    loader = {"savedmodel": savedmodel.load, "tflite": tflite.load, "onnx": onnx.load}[manifest["format"]]
    return loader(run_path / manifest["path"])


def _batch(examples: np.ndarray, size: int) -> np.ndarray:
    return np.ascontiguousarray(np.resize(examples, (size, *examples.shape[1:])).astype(examples.dtype))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--subset", type=int, default=None)
    parser.add_argument("--model", default="small_cnn")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    from lepton_lab.core.tf_import import tf

    with tempfile.TemporaryDirectory() as tmp:
        dataset_spec = {"name": args.dataset, "subset": args.subset}
        run = train(dataset=dataset_spec, model=args.model, train={"epochs": args.epochs}, runs_dir=tmp)
        keras_bytes = run.dir.model_path.stat().st_size
        rows = []
        for fmt, modes in QUANTIZE_BY_FORMAT.items():
            for quantize in modes:
                started = time.perf_counter()
                manifest = export_model(run, fmt, quantize)
                rows.append({"manifest": manifest, "export_s": round(time.perf_counter() - started, 2)})

        data = datasets.load(run.spec.dataset)
        raw, _ = raw_examples(data, "test")
        scaled, _ = data.arrays("test")
        keras_model = run.load_model()
        keras_call = tf.function(lambda x: keras_model(x, training=False))
        callers = {"keras": lambda batch: keras_call(tf.constant(batch))}
        inputs = {"keras": scaled}
        for row in rows:
            label = row["manifest"]["path"].split("/")[1]
            callers[label] = _predictor(run.path, row["manifest"])
            inputs[label] = raw
        times: dict[str, dict[int, list[float]]] = {name: {b: [] for b in BATCHES} for name in callers}
        batches = {name: {b: _batch(x, b) for b in BATCHES} for name, x in inputs.items()}
        for name, call in callers.items():
            for b in BATCHES:
                call(batches[name][b])  # warm-up
        for _ in range(args.rounds):
            for name, call in callers.items():
                for b in BATCHES:
                    start = time.perf_counter()
                    call(batches[name][b])
                    times[name][b].append(time.perf_counter() - start)
        latency = {
            name: {f"batch_{b}": statistics.median(t[b]) * 1000 for b in BATCHES} for name, t in times.items()
        }
        # model.keras also holds the optimizer's state: the float32 weights are the fair baseline.
        weights_bytes = keras_model.count_params() * 4
        keras_accuracy = rows[0]["manifest"]["keras"]["test_accuracy"]
        print(
            f"{args.dataset} ({args.model}, {args.epochs} epochs): model.keras {keras_bytes / 1024:.1f} KiB, "
            f"float32 weights {weights_bytes / 1024:.1f} KiB, keras test accuracy {keras_accuracy:.4f}, "
            f"keras latency b1 {latency['keras']['batch_1']:.3f} ms b32 {latency['keras']['batch_32']:.3f} ms"
        )
        print(
            f"{'export':<16}{'KiB':>8}{'/weights':>9}{'accuracy':>9}{'change':>9}{'agree':>7}"
            f"{'b1 ms':>8}{'b32 ms':>8}{'export s':>9}"
        )
        table = []
        for row in rows:
            m = row["manifest"]
            label = m["path"].split("/")[1]
            entry = {
                "export": label,
                "size_bytes": m["size_bytes"],
                "size_vs_float32_weights": m["size_bytes"] / weights_bytes,
                "test_accuracy": m["test_accuracy"],
                "accuracy_change": m["accuracy_change"],
                "agreement": m["agreement"],
                "latency_ms": latency[label],
                "export_s": row["export_s"],
                "warning": m["warning"],
            }
            table.append(entry)
            print(
                f"{label:<16}{m['size_bytes'] / 1024:>8.1f}{entry['size_vs_float32_weights']:>9.0%}"
                f"{m['test_accuracy']:>9.4f}{m['accuracy_change'] * 100:>+8.2f}p{m['agreement']:>7.3f}"
                f"{latency[label]['batch_1']:>8.3f}{latency[label]['batch_32']:>8.3f}{row['export_s']:>9.1f}"
            )
        RESULTS.mkdir(exist_ok=True)
        out = RESULTS / f"export_{args.dataset}.json"
        out.write_text(json.dumps({
            "dataset": args.dataset, "subset": args.subset, "model": args.model, "epochs": args.epochs,
            "rounds": args.rounds, "keras_bytes": keras_bytes, "float32_weights_bytes": weights_bytes,
            "keras_latency_ms": latency["keras"], "keras_test_accuracy": keras_accuracy, "exports": table,
        }, indent=2))  # fmt: skip
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
