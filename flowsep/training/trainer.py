"""The training loop shared by every stage, on Hugging Face Accelerate.

One process, several CPU processes (gloo) or several GPUs (DDP) run the same code. A stage is a
:class:`~flowsep.training.stage.StageTask`; the :class:`Trainer` owns everything else: optimisers and LR
schedules (diffusers ``get_scheduler``), mixed precision, gradient accumulation and clipping, EMA weights
(diffusers ``EMAModel``), TensorBoard logging through Accelerate's trackers, a tqdm bar, periodic
validation, and checkpoints written with ``accelerator.save_state``.

Resuming is exact: the data order comes from an :class:`~flowsep.training.data.EpochSampler` fixed by
``(seed, epoch)``, mixtures from ``(seed, epoch, index)``, and every random draw of a training step from a
generator seeded by ``(seed, step, micro-step, process)``. A resumed run therefore skips the batches already
seen in its epoch (``accelerator.skip_first_batches``) and continues with the same weights, optimiser
state and batches as an uninterrupted run.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import torch
import yaml
from accelerate import Accelerator
from accelerate.utils import ProjectConfiguration, set_seed
from diffusers.optimization import get_scheduler
from diffusers.training_utils import EMAModel
from tqdm.auto import tqdm

from ..errors import RecipeError
from .checkpoints import find_checkpoint, prune_checkpoints
from .data import EpochSampler, make_loader
from .recipe import Recipe
from .stage import StageTask


class TrainState:
    """The optimisation step, saved with every checkpoint."""

    def __init__(self):
        self.step = 0

    def state_dict(self) -> dict:
        return {"step": self.step}

    def load_state_dict(self, state: dict):
        self.step = int(state["step"])


def has_accelerator_device() -> bool:
    """Whether a GPU-like device exists; without one, Accelerate runs on CPU processes (gloo)."""
    mps = getattr(torch.backends, "mps", None)
    xpu = getattr(torch, "xpu", None)
    return torch.cuda.is_available() or bool(mps and mps.is_available()) or bool(xpu and xpu.is_available())


def step_generator(seed: int, step: int, micro_step: int, process: int) -> torch.Generator:
    """The CPU generator of one micro-step: every random draw of training comes from it."""
    state = np.random.SeedSequence([seed, step, micro_step, process]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


def _flat(config: dict, prefix: str = "") -> dict:
    """Nested recipe -> flat scalar dict for the trackers' hyper-parameter tables."""
    flat = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value if isinstance(value, (int, float, str, bool)) else str(value)
    return flat


class Trainer:
    """Runs one training stage from a recipe. ``Trainer(recipe, task).train()`` returns the output folder."""

    def __init__(self, recipe: Recipe, task: StageTask):
        self.recipe, self.task = recipe, task
        self.output_dir = Path(recipe.output_dir)
        t = recipe.trainer
        self.accelerator = Accelerator(
            gradient_accumulation_steps=t.gradient_accumulation_steps,
            mixed_precision=t.mixed_precision,
            log_with=t.log_with,
            project_config=ProjectConfiguration(
                project_dir=str(self.output_dir), logging_dir=str(self.output_dir / "logs")
            ),
            cpu=t.cpu or not has_accelerator_device(),
            step_scheduler_with_optimizer=False,
        )

    @property
    def weight_dtype(self) -> torch.dtype:
        """dtype of the frozen models: bf16 under bf16 mixed precision, float32 otherwise (T5 overflows in fp16)."""
        return torch.bfloat16 if self.accelerator.mixed_precision == "bf16" else torch.float32

    def _optimizer(self, model: torch.nn.Module) -> torch.optim.AdamW:
        t = self.recipe.trainer
        betas = (t.adam_beta1, t.adam_beta2)
        return torch.optim.AdamW(
            model.parameters(),
            lr=t.learning_rate,
            betas=betas,
            eps=t.adam_epsilon,
            weight_decay=t.weight_decay,
        )

    def _setup(self):
        recipe, t, accelerator = self.recipe, self.recipe.trainer, self.accelerator
        set_seed(recipe.seed)
        models = self.task.build_models()
        for model in models.values():
            if t.gradient_checkpointing and getattr(model, "_supports_gradient_checkpointing", False):
                model.enable_gradient_checkpointing()
            model.train()
        self.task.setup(accelerator, self.weight_dtype)
        train_set = self.task.train_dataset()
        sampler = EpochSampler(
            len(train_set), recipe.seed, weights=getattr(train_set, "sample_weights", None)
        )
        loader = make_loader(
            train_set, t.batch_size, sampler, recipe.data.num_workers, collate_fn=self.task.collate
        )
        if len(loader) == 0:
            raise RecipeError(
                f"trainer.batch_size: {len(train_set)} training items make no batch of {t.batch_size}"
            )
        optimizers = {name: self._optimizer(model) for name, model in models.items()}
        schedulers = {
            name: get_scheduler(
                t.lr_scheduler, opt, num_warmup_steps=t.lr_warmup_steps, num_training_steps=t.max_steps
            )
            for name, opt in optimizers.items()
        }
        names = list(models)
        prepared = accelerator.prepare(*models.values(), *optimizers.values(), *schedulers.values(), loader)
        n = len(names)
        self.models = dict(zip(names, prepared[:n]))
        self.optimizers = dict(zip(names, prepared[n : 2 * n]))
        self.schedulers = dict(zip(names, prepared[2 * n : 3 * n]))
        self.loader, self.train_set = prepared[-1], train_set
        valid_set = self.task.valid_dataset()
        self.valid_set, self.valid_loader = valid_set, None
        if valid_set is not None and t.validation_steps:
            valid_loader = make_loader(
                valid_set, t.batch_size, EpochSampler(len(valid_set), shuffle=False), 0, False
            )
            self.valid_loader = accelerator.prepare(valid_loader)
        self.ema = None
        if t.use_ema and self.task.ema_model:
            self.ema = EMAModel(self.unwrapped[self.task.ema_model].parameters(), decay=t.ema_decay)
            self.ema.to(accelerator.device)
            accelerator.register_for_checkpointing(self.ema)
        self.state = TrainState()
        accelerator.register_for_checkpointing(self.state)

    @property
    def unwrapped(self) -> dict:
        return {name: self.accelerator.unwrap_model(model) for name, model in self.models.items()}

    def optimize(self, name: str, loss: torch.Tensor):
        """Backward, clip, optimiser and LR steps of model ``name`` (steps happen when gradients sync)."""
        accelerator, max_norm = self.accelerator, self.recipe.trainer.max_grad_norm
        accelerator.backward(loss)
        if accelerator.sync_gradients and max_norm:
            accelerator.clip_grad_norm_(self.models[name].parameters(), max_norm)
        self.optimizers[name].step()
        if accelerator.sync_gradients:
            self.schedulers[name].step()
        self.optimizers[name].zero_grad(set_to_none=True)

    def _resume(self):
        resume = self.recipe.resume
        if not resume:
            return
        path = find_checkpoint(self.output_dir / "checkpoints", resume)
        if path is None:
            self.accelerator.print(
                f"no checkpoint in {self.output_dir / 'checkpoints'}: starting from scratch"
            )
            return
        self.accelerator.print(f"resuming from {path}")
        self.accelerator.load_state(str(path))

    def _checkpoint(self):
        accelerator, folder = self.accelerator, self.output_dir / "checkpoints"
        accelerator.save_state(str(folder / f"checkpoint-{self.state.step}"))
        if accelerator.is_main_process and self.recipe.trainer.checkpoints_total_limit:
            prune_checkpoints(folder, self.recipe.trainer.checkpoints_total_limit)

    def train(self) -> Path:
        """Train for ``trainer.max_steps`` optimisation steps, then write the stage's folders."""
        self._setup()
        self._resume()
        accelerator, t = self.accelerator, self.recipe.trainer
        count = accelerator.num_processes
        accelerator.print(
            f"{self.recipe.stage}: {count} process{'es' if count > 1 else ''}, "
            f"{accelerator.distributed_type.value} on {accelerator.device}, from step {self.state.step}"
        )
        if accelerator.is_main_process:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            (self.output_dir / "recipe.yaml").write_text(
                yaml.safe_dump(self.recipe.to_dict(), sort_keys=False)
            )
        if t.log_with:
            accelerator.init_trackers(f"flowsep-{self.recipe.stage}", config=_flat(self.recipe.to_dict()))
        steps_per_epoch = math.ceil(len(self.loader) / t.gradient_accumulation_steps)
        samples_per_step = t.batch_size * accelerator.num_processes * t.gradient_accumulation_steps
        epoch = self.state.step // steps_per_epoch
        progress = tqdm(
            total=t.max_steps, initial=self.state.step, desc=self.recipe.stage,
            disable=not (accelerator.is_local_main_process and t.progress_bar),
        )  # fmt: skip
        tick = time.perf_counter()
        while self.state.step < t.max_steps:
            self.loader.set_epoch(epoch)  # Accelerate passes it to the sampler, also when skipping batches
            self.train_set.set_epoch(epoch)
            skip = (self.state.step - epoch * steps_per_epoch) * t.gradient_accumulation_steps
            batches = accelerator.skip_first_batches(self.loader, skip) if skip else self.loader
            micro = 0
            for batch in batches:
                generator = step_generator(
                    self.recipe.seed, self.state.step, micro, accelerator.process_index
                )
                with accelerator.accumulate(*self.models.values()):
                    logs = self.task.training_step(batch, self.models, self.optimize, generator)
                micro += 1
                if not accelerator.sync_gradients:
                    continue
                micro = 0
                self.state.step += 1
                if self.ema is not None:
                    self.ema.step(self.unwrapped[self.task.ema_model].parameters())
                now = time.perf_counter()
                logs = {
                    key: accelerator.reduce(value.detach().float(), "mean").item()
                    for key, value in logs.items()
                }
                logs["samples_per_second"] = samples_per_step / max(now - tick, 1e-9)
                logs["lr"] = next(iter(self.schedulers.values())).get_last_lr()[0]
                tick = now
                progress.update()
                progress.set_postfix(
                    loss=f"{logs.get('loss', 0.0):.4f}", sps=f"{logs['samples_per_second']:.1f}"
                )
                accelerator.log({f"train/{key}": value for key, value in logs.items()}, step=self.state.step)
                if t.checkpointing_steps and self.state.step % t.checkpointing_steps == 0:
                    self._checkpoint()
                if self.valid_loader is not None and self.state.step % t.validation_steps == 0:
                    self.validate()
                    tick = time.perf_counter()
                if self.state.step >= t.max_steps:
                    break
            epoch += 1
        progress.close()
        self._save()
        accelerator.end_training()
        return self.output_dir

    def _swap_ema(self, use: bool):
        """Put the EMA weights into the model (``use=True``) or restore the trained ones."""
        if self.ema is None:
            return
        parameters = self.unwrapped[self.task.ema_model].parameters()
        if use:
            self.ema.store(parameters)
            self.ema.copy_to(self.unwrapped[self.task.ema_model].parameters())
        else:
            self.ema.restore(parameters)

    @torch.no_grad()
    def validate(self) -> dict:
        """Validation losses on ``validation_batches`` batches (fixed noise), and example outputs."""
        accelerator, t = self.accelerator, self.recipe.trainer
        models = self.unwrapped
        self._swap_ema(True)
        for model in models.values():
            model.eval()
        totals: dict[str, torch.Tensor] = {}
        count = 0
        for index, batch in enumerate(self.valid_loader):
            if index >= t.validation_batches:
                break
            generator = torch.Generator().manual_seed(self.recipe.seed + 7919 * index)
            for key, value in self.task.validation_step(batch, models, generator).items():
                totals[key] = totals.get(key, 0.0) + value.detach().float()
            count += 1
        logs = {
            f"valid/{key}": accelerator.reduce(value / max(count, 1), "mean").item()
            for key, value in totals.items()
        }
        accelerator.log(logs, step=self.state.step)
        if accelerator.is_main_process and t.validation_samples:
            items = [self.valid_set[i] for i in range(min(t.validation_samples, len(self.valid_set)))]
            folder = self.output_dir / "validation" / f"step-{self.state.step}"
            figures = self.task.write_examples(items, models, folder, accelerator.device)
            self._log_figures(figures)
        for model in models.values():
            model.train()
        self._swap_ema(False)
        accelerator.wait_for_everyone()
        return logs

    def _log_figures(self, figures: dict):
        """Send the example figures to TensorBoard when it is the tracker."""
        if self.recipe.trainer.log_with == "tensorboard":
            writer = self.accelerator.get_tracker("tensorboard", unwrap=True)
            for name, figure in figures.items():
                writer.add_figure(f"validation/{name}", figure, global_step=self.state.step, close=False)

    def _save(self):
        """Write the stage's ``save_pretrained`` folders (EMA weights when kept) from the main process."""
        accelerator = self.accelerator
        accelerator.wait_for_everyone()
        if self.ema is not None:
            self.ema.copy_to(self.unwrapped[self.task.ema_model].parameters())
        if accelerator.is_main_process:
            self.task.save(self.unwrapped, self.output_dir)
        accelerator.wait_for_everyone()
