"""The names a user may choose among (decoders, mask rules, solvers, dtypes, metrics, benchmark kinds) and the
bounds of numeric options, without importing torch.

The command line reads them here so that ``flowsep --help`` and flag errors answer in a fraction of a second.
:mod:`flowsep.decoding` takes its lists from here; the others are checked against the modules that implement
them by ``tests/test_cli.py``.
"""

DECODERS = ("vocoder", "mask")  # flowsep.decoding
MASK_RULES = ("ratio", "wiener", "binary")  # flowsep.decoding
SOLVER_FAMILIES = {  # flowsep.schedulers.FAMILIES: the solvers that sample each kind of model, its default first
    "flow": ("euler", "heun", "midpoint"),
    "diffusion": ("ddim", "dpmsolver++"),
    "predictive": ("predictive",),
}
SOLVERS = tuple(name for names in SOLVER_FAMILIES.values() for name in names)
SCHEDULER_FAMILIES = {  # a model folder's scheduler class -> the kind of model it samples
    "FlowMatchEulerDiscreteScheduler": "flow", "FlowMatchHeunDiscreteScheduler": "flow",
    "FlowMatchMidpointScheduler": "flow", "DDIMScheduler": "diffusion", "DPMSolverMultistepScheduler": "diffusion",
    "PredictiveScheduler": "predictive",
}  # fmt: skip
SIGMA_GRIDS = ("uniform", "diffusers")  # flowsep.schedulers.set_sigma_grid: a flow solver's steps
OBJECTIVES = ("flow", "diffusion", "predictive")  # flowsep.training.objective
PREDICTION_TYPES = ("v_prediction", "epsilon")  # flowsep.training.objective (diffusion)
DTYPES = ("fp32", "fp16", "bf16")  # flowsep.loading.DTYPES
METRICS = ("sisdr", "clap", "fad")  # flowsep.metrics.METRICS
FAD_BACKBONES = ("clap", "encodec", "pann", "vggish")  # flowsep.metrics.fad.BACKBONE_SAMPLE_RATES
DEFAULT_CLAP_CHECKPOINT = "laion/clap-htsat-unfused"  # flowsep.metrics.clap
BENCHMARK_KINDS = (  # flowsep.evaluation.kinds.KINDS
    "audiocaps", "vggsound", "esc50", "manifest", "dcase2024-validation", "dcase2024-eval-synthetic",
    "dcase2024-eval-real",
)  # fmt: skip
MAX_STEPS = 1000  # ODE steps a command accepts (the paper uses 1 to 100)
# The largest |guidance scale|, source noise and timestep shift (from ~1e20 the output is a constant)
MAX_SCALE = 100.0
MAX_SEED = 2**64 - 1  # seeds are 64-bit (torch.Generator.manual_seed)
