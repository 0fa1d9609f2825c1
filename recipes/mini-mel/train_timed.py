"""Train a recipe's stage within a wall-clock budget, for a machine lent for minutes::

    python recipes/mini-mel/train_timed.py recipes/mini-mel/flow_gpu.yaml --minutes 6 [--set key=value ...]

The learning rate warms up over ``trainer.lr_warmup_steps`` as the recipe says, then decays along a cosine
whose progress is the larger of the time spent over the budget and the steps over ``trainer.max_steps``; it
reaches zero where training stops, and the stage's folders are written as usual. The budget counts from the
first optimisation step (setup and data loading come before it). Every ``--log-seconds`` a line gives the
step, the loss, the throughput and the learning rate.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import torch

from flowsep.training import STAGE_TASKS, Trainer, load_recipe, parse_override


class TimedTrainer(Trainer):
    """A :class:`~flowsep.training.Trainer` that stops after ``seconds`` of optimisation steps."""

    def __init__(self, recipe, task, seconds: float, log_seconds: float = 30.0):
        super().__init__(recipe, task)
        self.seconds, self.log_seconds = seconds, log_seconds
        self.start = self.last_log = None
        self.elapsed = 0.0

    def lr_factor(self, step: int) -> float:
        t = self.recipe.trainer
        if step < t.lr_warmup_steps:
            return step / t.lr_warmup_steps
        progress = max(
            self.elapsed / self.seconds, (step - t.lr_warmup_steps) / max(1, t.max_steps - t.lr_warmup_steps)
        )
        return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))

    def optimize(self, name: str, loss: torch.Tensor):
        now = time.perf_counter()
        if self.start is None:
            self.start = self.last_log = now
            for scheduler in self.schedulers.values():  # accelerate's wrapper around a LambdaLR
                scheduler.scheduler.lr_lambdas = [self.lr_factor] * len(scheduler.scheduler.lr_lambdas)
        self.elapsed = now - self.start
        if self.accelerator.num_processes > 1:  # every process stops at the same step
            elapsed = torch.tensor(self.elapsed, device=self.accelerator.device)
            self.elapsed = float(self.accelerator.reduce(elapsed, "max"))
        super().optimize(name, loss)
        if self.elapsed >= self.seconds:
            self.recipe.trainer.max_steps = min(self.recipe.trainer.max_steps, self.state.step + 1)
        if now - self.last_log >= self.log_seconds and self.accelerator.is_main_process:
            steps = self.state.step + 1
            rate = steps * self.recipe.trainer.batch_size / self.elapsed
            lr = self.schedulers[name].get_last_lr()[0]
            print(
                f"{self.elapsed:6.0f} s  step {steps}  loss {loss.item():.4f}  {rate:.0f} samples/s  lr {lr:.2e}"
            )
            self.last_log = now


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("recipe", help="a training recipe (flow, vae or vocoder stage)")
    parser.add_argument("--minutes", type=float, required=True, help="budget of optimisation steps")
    parser.add_argument("--log-seconds", type=float, default=30.0, help="seconds between progress lines")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    recipe = load_recipe(args.recipe, dict(parse_override(text) for text in args.overrides))
    trainer = TimedTrainer(recipe, STAGE_TASKS[recipe.stage](recipe), args.minutes * 60, args.log_seconds)
    output = trainer.train()
    print(f"wrote {output}: {trainer.state.step} steps in {trainer.elapsed:.0f} s of training")
    return 0


if __name__ == "__main__":
    sys.exit(main())
