"""aimeter_events: report a workload's progress to aimeter (zero dependencies).

Written by `aimeter snippet python > aimeter_events.py`; put it beside your
script and import it. Under `aimeter run` it appends JSON lines to the file
named by $AIMETER_EVENTS (the aimeter workload events protocol); anywhere else
every call does nothing, so it can stay in your code.

    import aimeter_events as ae

    ae.phase("train")
    meter = ae.StepMeter(samples_per_step=batch_size)   # plain training loop
    for batch in loader:
        loss = train_step(batch)
        meter.step(loss=loss)                           # step, samples_per_s, loss
    ae.phase("eval")
    ae.mark("checkpoint saved")
    ae.log(accuracy=0.91)

    trainer = transformers.Trainer(..., callbacks=[ae.hf_callback()])
    trainer = lightning.Trainer(..., callbacks=[ae.lightning_callback()])
    model.fit(..., callbacks=[ae.keras_callback()])

Metrics are numbers (int, float, numpy or torch scalars); NaN, inf, bools and
everything else are skipped. In a multi-process job only rank 0 writes (set
AIMETER_EVENTS_ALL_RANKS=1 to let every rank write). Writes are throttled to
`min_interval` seconds (phases and marks are never throttled).
"""

import json
import math
import os
import threading
import time

__all__ = [
    "enabled", "log", "phase", "mark", "StepMeter",
    "hf_callback", "lightning_callback", "keras_callback",
]

_lock = threading.Lock()
_file = None
_path = os.environ.get("AIMETER_EVENTS")
_last_log = 0.0
min_interval = 0.1


def _rank_zero():
    if os.environ.get("AIMETER_EVENTS_ALL_RANKS") == "1":
        return True
    for var in ("RANK", "SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMI_RANK"):
        v = os.environ.get(var)
        if v not in (None, ""):
            return v == "0"
    return True


enabled = bool(_path) and _rank_zero()


def _number(v):
    """A finite float from v, or None."""
    if isinstance(v, bool):
        return None
    if hasattr(v, "item") and callable(v.item):  # numpy / torch scalars (one element only)
        try:
            v = v.item()
        except Exception:
            return None
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        f = float(v)
        return f if math.isfinite(f) else None
    return None


def _write(obj):
    global _file
    if not enabled:
        return
    obj.setdefault("time", time.time())
    line = json.dumps(obj, allow_nan=False, default=str) + "\n"
    with _lock:
        try:
            if _file is None:
                _file = open(_path, "a", encoding="utf-8")
            _file.write(line)
            _file.flush()
        except OSError:
            pass  # never break the workload


def log(_metrics=None, force=False, **metrics):
    """Record numeric metrics (a dict and/or keywords): log(loss=0.7, step=12)."""
    global _last_log
    if not enabled:
        return
    if _metrics:
        metrics = dict(_metrics, **metrics)
    now = time.time()
    if not force and now - _last_log < min_interval:
        return
    out = {}
    for k, v in metrics.items():
        f = _number(v)
        if f is not None:
            out[str(k)] = f
    if out:
        _last_log = now
        out["time"] = now
        _write(out)


class _Phase:
    def __init__(self, name):
        self.name = name
        self.previous = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        global _current_phase
        _current_phase = self.previous
        _write({"phase": self.previous})
        return False


_current_phase = None


def phase(name):
    """Start a phase (ends the one before); phase(None) ends the current one.

    Also a context manager: `with ae.phase("eval"): ...` returns to the phase before.
    """
    global _current_phase
    p = _Phase(name)
    p.previous = _current_phase
    _current_phase = name
    _write({"phase": name})
    return p


def mark(text):
    """An annotation at this moment (shown on the report's timeline)."""
    _write({"mark": str(text)})


class StepMeter:
    """For a plain training loop: counts steps and samples and logs throughput.

    meter = StepMeter(samples_per_step=64, tokens_per_step=64 * 512)
    meter.step(loss=loss)   # logs step, samples, samples_per_s (and tokens, tokens_per_s)
    """

    def __init__(self, samples_per_step=None, tokens_per_step=None, every=1):
        self.samples_per_step = samples_per_step
        self.tokens_per_step = tokens_per_step
        self.every = max(1, int(every))
        self.steps = 0
        self.samples = 0
        self.tokens = 0
        self._t = time.perf_counter()
        self._since = 0
        self._samples_since = 0
        self._tokens_since = 0

    def step(self, samples=None, tokens=None, **metrics):
        """One step done; samples/tokens override the per-step counts for this step."""
        n = samples if samples is not None else (self.samples_per_step or 0)
        k = tokens if tokens is not None else (self.tokens_per_step or 0)
        self.steps += 1
        self.samples += n
        self.tokens += k
        self._since += 1
        self._samples_since += n
        self._tokens_since += k
        if self._since < self.every:
            return
        now = time.perf_counter()
        dt = max(now - self._t, 1e-9)
        out = {"step": self.steps}
        if self.samples_per_step is not None or samples is not None:
            out["samples"] = self.samples
            out["samples_per_s"] = self._samples_since / dt
        if self.tokens_per_step is not None or tokens is not None:
            out["tokens"] = self.tokens
            out["tokens_per_s"] = self._tokens_since / dt
        out["step_time_s"] = dt / self._since
        out.update(metrics)
        self._t = now
        self._since = self._samples_since = self._tokens_since = 0
        log(out, force=True)


def hf_callback():
    """A transformers.TrainerCallback that reports the Trainer's logs, phases and checkpoints."""
    from transformers import TrainerCallback  # imported only when asked for

    class AimeterCallback(TrainerCallback):
        def on_train_begin(self, args, state, control, **kw):
            phase("train")

        def on_log(self, args, state, control, logs=None, **kw):
            if logs:
                log(logs, force=True, step=state.global_step)

        def on_evaluate(self, args, state, control, metrics=None, **kw):
            if metrics:
                log(metrics, force=True, step=state.global_step)
            mark("evaluation at step %d" % state.global_step)

        def on_save(self, args, state, control, **kw):
            mark("checkpoint saved at step %d" % state.global_step)

        def on_train_end(self, args, state, control, **kw):
            phase(None)

    return AimeterCallback()


def lightning_callback(every=1):
    """A Lightning Callback: logged metrics per batch, train/validate/test phases."""
    try:
        from lightning.pytorch import Callback
    except ImportError:
        from pytorch_lightning import Callback

    class AimeterCallback(Callback):
        def __init__(self):
            self._t = None
            self._n = 0

        def on_train_start(self, trainer, pl_module):
            phase("train")

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            if self._t is None:
                self._t = time.perf_counter()

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            self._n += 1
            if self._n % every:
                return
            metrics = {k: v for k, v in trainer.callback_metrics.items()}
            if isinstance(outputs, dict) and "loss" in outputs:
                metrics["loss"] = outputs["loss"]
            now = time.perf_counter()
            if self._t is not None:
                metrics["step_time_s"] = (now - self._t) / every
            self._t = now
            log(metrics, step=trainer.global_step, epoch=trainer.current_epoch)

        def on_validation_start(self, trainer, pl_module):
            phase("validate")

        def on_validation_end(self, trainer, pl_module):
            log(dict(trainer.callback_metrics), force=True, step=trainer.global_step)
            phase("train" if trainer.training else None)

        def on_test_start(self, trainer, pl_module):
            phase("test")

        def on_test_end(self, trainer, pl_module):
            phase(None)

        def on_train_end(self, trainer, pl_module):
            phase(None)

        def on_save_checkpoint(self, trainer, pl_module, checkpoint):
            mark("checkpoint saved at step %d" % trainer.global_step)

    return AimeterCallback()


def keras_callback(every=1):
    """A keras.callbacks.Callback: batch and epoch logs, train/test/predict phases."""
    try:
        import keras
        base = keras.callbacks.Callback
    except ImportError:
        from tensorflow import keras
        base = keras.callbacks.Callback

    class AimeterCallback(base):
        def __init__(self):
            super().__init__()
            self._step = 0
            self._training = False

        def on_train_begin(self, logs=None):
            self._training = True
            phase("train")

        def on_train_batch_end(self, batch, logs=None):
            self._step += 1
            if self._step % every == 0:
                log(logs or {}, step=self._step)

        def on_epoch_end(self, epoch, logs=None):
            log(logs or {}, force=True, step=self._step, epoch=epoch + 1)

        def on_test_begin(self, logs=None):
            phase("eval")

        def on_test_end(self, logs=None):
            log(logs or {}, force=True)
            phase("train" if self._training else None)

        def on_predict_begin(self, logs=None):
            phase("predict")

        def on_predict_end(self, logs=None):
            phase(None)

        def on_train_end(self, logs=None):
            self._training = False
            phase(None)

    return AimeterCallback()
