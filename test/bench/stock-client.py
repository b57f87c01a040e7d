"""The stock MLflow client against a tracking server: a training-script-shaped workload, and single writes.

Not part of any test (CI has no MLflow): run by hand with the real client, against `npm start` and against
MLflow's own server on the same machine (see docs/benchmarks.md for the commands). Prints one JSON line.

  MLFLOW_TRACKING_URI=http://127.0.0.1:5000 python stock-client.py workload   # RUNS, STEPS
  MLFLOW_TRACKING_URI=http://127.0.0.1:5000 python stock-client.py single     # WRITES

workload: RUNS runs one after another, each as a training script logs it: start_run, 10 params and 3
tags, then per step one log_metric (the loss) and one log_metrics of 3 more (a log-batch), then a
log_batch of the run's 1,000-point evaluation curve, end_run. single: WRITES log_metric calls on one
run, each timed on its own (the first fifth dropped as warm-up).
"""

import json
import os
import statistics
import sys
import time
import uuid

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric


def workload() -> dict:
    runs = int(os.environ.get("RUNS", "10"))
    steps = int(os.environ.get("STEPS", "100"))
    mlflow.set_experiment(f"workload-{uuid.uuid4().hex[:8]}")
    client = MlflowClient()
    requests = 0
    started = time.perf_counter()
    for r in range(runs):
        with mlflow.start_run(run_name=f"run-{r}") as run:
            mlflow.log_params({f"param_{i}": str(i * r) for i in range(10)})
            mlflow.set_tags({"team": "bench", "model": "mlp", "data_version": "v3"})
            for step in range(steps):
                mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
                mlflow.log_metrics({"acc": step / steps, "lr": 0.01, "grad_norm": 0.5}, step=step)
            now = int(time.time() * 1000)
            client.log_batch(
                run.info.run_id,
                metrics=[Metric("eval_curve", i / 1000, now, i) for i in range(1000)],
            )
        # start_run is create + (get) + set tags; end_run an update: count what the script asked for.
        requests += 2 + 2 + 2 * steps + 1 + 1
    seconds = time.perf_counter() - started
    return {"workload": "training", "runs": runs, "steps": steps, "seconds": round(seconds, 3),
            "script calls": requests, "ms per call": round(1000 * seconds / requests, 3)}


def single() -> dict:
    writes = int(os.environ.get("WRITES", "500"))
    client = MlflowClient()
    try:
        experiment_id = client.create_experiment(f"single-{uuid.uuid4().hex[:8]}")
        run_id = client.create_run(experiment_id).info.run_id
    except Exception:
        # A server that answers {} to everything (the client's own floor) gives no ids back.
        run_id = uuid.uuid4().hex
    timings = []
    for step in range(writes):
        t0 = time.perf_counter()
        client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
        timings.append((time.perf_counter() - t0) * 1000)
    measured = sorted(timings[writes // 5:])
    return {"workload": "single log_metric", "writes": len(measured),
            "p50 ms": round(statistics.median(measured), 3),
            "p95 ms": round(measured[int(0.95 * len(measured))], 3)}


if __name__ == "__main__":
    print(json.dumps({"single": single, "workload": workload}[sys.argv[1]]()))
