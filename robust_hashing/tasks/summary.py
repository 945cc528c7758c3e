"""What ``robust-hashing fit`` tells the user: where the run goes, and how good the model is.

:class:`FitSummary` is a Lightning callback that the CLI adds to every ``fit`` (clean
training and defenses). It

* makes the last epoch validate whatever ``check_val_every_n_epoch`` says, so a run
  always ends with the mAP of its final model (and a checkpoint selected on it);
* prints where the wandb run is written, when there is one;
* ends with a short summary: mAP@k of the final model on the queries under both
  conventions (protocol §5), the code length, the checkpoint paths and the time taken.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, TextIO

import lightning as L
from lightning.pytorch.callbacks import Callback, ModelCheckpoint


def format_seconds(seconds: float) -> str:
    """``"8.2 s"``, ``"2 min 41 s"`` or ``"1 h 05 min"``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _relative(path: str) -> str:
    """``path`` relative to the working directory when it lies below it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return path


def _query_count(trainer: L.Trainer) -> int | None:
    loaders = trainer.val_dataloaders
    loader = loaders[0] if isinstance(loaders, (list, tuple)) and loaders else loaders
    try:
        return len(loader.dataset)  # type: ignore[union-attr,arg-type]
    except (AttributeError, TypeError):
        return None


def wandb_line(trainer: L.Trainer) -> str | None:
    """Where the trainer's wandb run is written (and how to upload an offline one), or None."""
    from lightning.pytorch.loggers import WandbLogger

    for logger in trainer.loggers:
        if not isinstance(logger, WandbLogger):
            continue
        run = logger.experiment
        folder = _relative(str(Path(str(getattr(run, "dir", ""))).parent))
        name = getattr(run, "name", None) or getattr(run, "id", "")
        if getattr(run, "offline", False):
            return f"wandb run {name} (offline) in {folder}; upload with `wandb sync {folder}`"
        return f"wandb run {name}: {getattr(run, 'url', None) or folder}"
    return None


class FitSummary(Callback):
    """Validate on the last epoch; print the wandb run at the start and a summary at the end.

    Args:
        stream: where the lines go (default: standard output).
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self._start = time.perf_counter()
        self._validated: tuple[int, dict[str, float]] | None = None

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Start the clock; say where the wandb run goes."""
        self._start = time.perf_counter()
        self._validated = None
        line = wandb_line(trainer) if trainer.is_global_zero else None
        if line:
            self._print(line)

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """On the last epoch, validate whatever the interval (it is kept for earlier epochs)."""
        every = trainer.check_val_every_n_epoch
        last = trainer.max_epochs is not None and trainer.current_epoch == trainer.max_epochs - 1
        if last and every is not None and every > 1 and (trainer.current_epoch + 1) % every:
            trainer.check_val_every_n_epoch = 1

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Keep the figures of the latest validation."""
        if trainer.sanity_checking:
            return
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val")}
        self._validated = (trainer.current_epoch, metrics)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Print the summary (rank zero only)."""
        if trainer.is_global_zero:
            self._print(self.summary(trainer, pl_module, time.perf_counter() - self._start))

    def summary(self, trainer: L.Trainer, pl_module: L.LightningModule, seconds: float) -> str:
        """The summary lines of a finished fit."""
        hp: Any = pl_module.hparams
        epochs = trainer.current_epoch
        head = f"fit finished in {format_seconds(seconds)} ({epochs} epoch{'s' * (epochs != 1)})"
        lines = [head, f"  model      {_model_line(pl_module, hp)}"]
        lines.append(f"  {self._map_line(trainer, hp)}")
        lines.extend(f"  {line}" for line in _checkpoint_lines(trainer))
        return "\n".join(lines)

    def _map_line(self, trainer: L.Trainer, hp: Any) -> str:
        top_k = hp.get("top_k")
        name = f"mAP@{top_k}" if top_k else "mAP (full ranking)"
        if self._validated is None or "val_map" not in self._validated[1]:
            return f"{name:<10} not measured (validation is off or found no batch)"
        epoch, metrics = self._validated
        queries = _query_count(trainer)
        on = f" on {queries} queries" if queries is not None else ""
        text = f"{name:<10} {metrics['val_map']:.4f}{on}"
        if "val_map_hits" in metrics:
            text += f" (all queries; {metrics['val_map_hits']:.4f} over queries with a hit in k)"
        if epoch != trainer.current_epoch - 1:
            text += f", measured after epoch {epoch + 1}"
        return text


def _model_line(pl_module: L.LightningModule, hp: Any) -> str:
    parts = [type(pl_module).__name__]
    if hp.get("bits") is not None:
        parts.append(f"{hp['bits']}-bit codes")
    parts.extend(str(hp[key]) for key in ("loss", "backbone") if hp.get(key))
    return ", ".join(parts)


def _checkpoint_lines(trainer: L.Trainer) -> list[str]:
    callbacks = [c for c in trainer.callbacks if isinstance(c, ModelCheckpoint)]  # type: ignore[attr-defined]
    if not callbacks:
        return ["checkpoint none (checkpointing is off)"]
    lines = []
    for callback in callbacks:
        if callback.last_model_path:
            lines.append(f"checkpoint {_relative(callback.last_model_path)} (last)")
        best = callback.best_model_path
        if best and best != callback.last_model_path:
            kind = f"best {callback.monitor}" if callback.monitor else "latest"
            lines.append(f"checkpoint {_relative(best)} ({kind})")
    return lines or ["checkpoint none written"]
