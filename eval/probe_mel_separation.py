"""Probe: how fast does a flowsep-mini-sized network learn to separate in log-mel space?

A FlowSepTransformer works on the normalised log-mel instead of a VAE latent; ``--arch`` picks its tokens and
attention (:data:`ARCHS`): ``frame`` (flowsep-mini: 6 blocks x 256, tokens of 4 frames x 64 mel bins, 64 tokens
per 2.56 s), ``patch2d`` (4 frames x 8 bands, 512 tokens, full attention, 6 blocks x 128) or ``axial`` (the same
tokens, dual-path attention along time within each band group and across the bands of each frame). ``--mode predict`` evaluates it once at sigma = 1 from
the mixture (x0_hat = x1 - v: the predictive baseline); ``--mode flow`` trains the mixture-source flow on the
straight path (``--source_noise`` at both ends) and samples it with ``--steps`` Euler steps. Loss: ``mse`` on
the velocity, ``sisdr`` (-SI-SDR of x0_hat through the differentiable mask decoder) or ``both``. Mixtures are
made online from clips held in memory (full-band corpus, random band-limiting ``--p_band``); validation is 200
fixed mixtures of ``--data``/valid.jsonl (SI-SDRi overall and by input SNR band). ``--cpu-minutes`` budgets the
optimisation by this process's CPU time (evaluation excluded), so that arms run side by side, one thread each,
get equal compute. Run from the repository root after ``python recipes/corpus/build_corpus.py --out
data/debian-corpus``:

    OMP_NUM_THREADS=1 python eval/probe_mel_separation.py --arch axial --cpu-minutes 25 --out probe-axial.json
"""

import argparse
import json
import time

import numpy as np
import soundfile as sf
import torch
import torch.nn.functional as F
from torchmetrics.functional.audio import scale_invariant_signal_distortion_ratio

from flowsep.audio import normalize_mixture
from flowsep.data.augment import random_band_limit
from flowsep.decoding import mask_decode
from flowsep.metrics.separation import si_sdr_improvement
from flowsep.models import FlowSepTransformer, encode_text, load_text_encoder
from flowsep.spectrogram import MelConfig, log_mel_spectrogram

SR, SEG = 16000, 40960
MEL = MelConfig()
MU, STD = -5.0, 2.5
BAND_HZ = (2500.0, 7000.0)  # cutoffs of random band-limiting
ARCHS = {  # FlowSepTransformer settings of each arm (the rest as flowsep-mini)
    "frame": {"patch_size_freq": 64, "num_attention_heads": 4, "attention_head_dim": 64},
    "patch2d": {"patch_size_freq": 8, "num_attention_heads": 4, "attention_head_dim": 32},
    "axial": {
        "patch_size_freq": 8, "num_attention_heads": 4, "attention_head_dim": 32, "attention_pattern": "axial"
    },
}  # fmt: skip


def load_split(path):
    rows = [json.loads(line) for line in open(path)]
    waves = []
    for r in rows:
        w, sr = sf.read(str(__import__("pathlib").Path(path).parent / r["audio"]), dtype="float32")
        assert sr == SR, sr
        waves.append(w if w.ndim == 1 else w.mean(1))
    return rows, waves


def crop(w, rng):
    if len(w) < SEG:
        return np.pad(w, (0, SEG - len(w)))
    best = None
    for _ in range(3):
        s = int(rng.integers(len(w) - SEG + 1))
        c = w[s : s + SEG]
        e = float((c**2).mean())
        if best is None or e > best[0]:
            best = (e, c)
    return best[1]


def mix(rows, waves, rng, p_band, snr_range=(-15, 15)):
    i = int(rng.integers(len(rows)))
    labels = set(rows[i]["labels"])
    while True:
        j = int(rng.integers(len(rows)))
        if (
            j != i
            and not labels & set(rows[j]["labels"])
            and rows[j].get("recording") != rows[i].get("recording")
        ):
            break
    t, n = (
        random_band_limit(torch.from_numpy(crop(w, rng)), rng, p_band, BAND_HZ, SR).numpy()
        for w in (waves[i], waves[j])
    )
    rt, rn = np.sqrt((t**2).mean() + 1e-12), np.sqrt((n**2).mean() + 1e-12)
    snr = rng.uniform(*snr_range)
    n = n / rn * rt * 10 ** (-snr / 20)
    cap = rows[i]["captions"][int(rng.integers(len(rows[i]["captions"])))]
    return t, n, cap, snr, i


def make_batch(rows, waves, rng, bs, p_band):
    ts, ns, caps, snrs = [], [], [], []
    while len(ts) < bs:
        t, n, cap, snr, _ = mix(rows, waves, rng, p_band)
        if np.sqrt((t**2).mean()) < 1e-4:
            continue
        ts.append(t), ns.append(n), caps.append(cap), snrs.append(snr)
    t, n = torch.tensor(np.stack(ts)), torch.tensor(np.stack(ns))
    m, gain = normalize_mixture(t + n, 0.1)
    return m, t * gain, caps, torch.tensor(snrs)


def reprs(wave):
    mel = log_mel_spectrogram(wave, MEL)[..., :256]  # (B, 64, 256)
    return mel, ((mel - MU) / STD).transpose(1, 2).unsqueeze(1)  # (B, 1, 256, 64)


def to_mel(x):
    return x.squeeze(1).transpose(1, 2) * STD + MU


class TextCache:
    def __init__(self):
        self.enc, self.tok = load_text_encoder("minilm")
        self.cache = {}

    def __call__(self, caps):
        new = [c for c in set(caps) if c not in self.cache]
        if new:
            s, m = encode_text(self.enc, self.tok, new, "cpu")
            for k, c in enumerate(new):
                self.cache[c] = s[k, : int(m[k].sum())]
        L = max(self.cache[c].shape[0] for c in caps)
        states = torch.zeros(len(caps), L, 384)
        mask = torch.zeros(len(caps), L, dtype=torch.long)
        for k, c in enumerate(caps):
            states[k, : self.cache[c].shape[0]] = self.cache[c]
            mask[k, : self.cache[c].shape[0]] = 1
        return states, mask


def run_model(model, x, xmix, sigma, states, mask):
    return model(x, xmix, sigma * 1000, encoder_hidden_states=states, encoder_attention_mask=mask).sample


def separate(model, mix, states, mask, args, steps, gen):
    mel, xmix = reprs(mix)
    x = xmix + args.source_noise * torch.randn(xmix.shape, generator=gen)
    sig = torch.linspace(1, 0, steps + 1)
    for k in range(steps):
        v = run_model(model, x, xmix, sig[k].expand(x.shape[0]), states, mask)
        x = x + (sig[k + 1] - sig[k]) * v
    target_mel = torch.minimum(to_mel(x), mel)
    target_mel = F.pad(target_mel, (0, 1), mode="replicate")
    return mask_decode(target_mel, mix, MEL, "ratio")


def evaluate(model, valid, text, args, steps, n=200):
    rng = np.random.default_rng(1234)
    rows, waves = valid
    items = []
    while len(items) < n:
        t, nn_, cap, snr, _ = mix(rows, waves, rng, 0.0)
        if np.sqrt((t**2).mean()) < 1e-4:
            continue
        items.append((t, nn_, cap, snr))
    model.eval()
    out = []
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for b in range(0, n, 25):
            chunk = items[b : b + 25]
            t = torch.tensor(np.stack([c[0] for c in chunk]))
            nz = torch.tensor(np.stack([c[1] for c in chunk]))
            m, g = normalize_mixture(t + nz, 0.1)
            states, mask = text([c[2] for c in chunk])
            est = separate(model, m, states, mask, args, steps, gen)
            imp = si_sdr_improvement(est, t * g, m)
            out += list(zip(imp.tolist(), [c[3] for c in chunk]))
    model.train()
    imp = np.array([o[0] for o in out])
    snr = np.array([o[1] for o in out])
    bands = [imp[snr < -5].mean(), imp[(snr >= -5) & (snr < 5)].mean(), imp[snr >= 5].mean()]
    return float(imp.mean()), [float(b) for b in bands]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mode", choices=("predict", "flow"), default="predict")
    p.add_argument("--loss", choices=("mse", "sisdr", "both"), default="sisdr")
    p.add_argument("--minutes", type=float, default=20, help="wall-clock budget")
    p.add_argument("--cpu-minutes", type=float, default=None, help="CPU-time budget of optimisation steps")
    p.add_argument("--arch", choices=sorted(ARCHS), default="frame")
    p.add_argument("--data", default="data/debian-corpus", help="folder with train.jsonl and valid.jsonl")
    p.add_argument("--max_steps", type=int, default=10**9)
    p.add_argument("--bs", type=int, default=16)
    p.add_argument("--lr", type=float, default=4e-4)
    p.add_argument("--layers", type=int, default=6)
    p.add_argument("--patch_time", type=int, default=4)
    p.add_argument(
        "--cosine", action="store_true", help="cosine decay of the learning rate to 0 at --max_steps"
    )
    p.add_argument("--source_noise", type=float, default=0.0)
    p.add_argument("--p_band", type=float, default=0.3)
    p.add_argument("--eval_every", type=int, default=500)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--out", default="eval/reports/probe_mel_separation.json")
    p.add_argument("--save", default=None, help="folder to save the trained transformer in")
    args = p.parse_args()
    torch.manual_seed(0)
    t0 = time.time()
    train = load_split(f"{args.data}/train.jsonl")
    valid = load_split(f"{args.data}/valid.jsonl")
    print(f"loaded {len(train[0])} train {len(valid[0])} valid in {time.time() - t0:.0f}s", flush=True)
    text = TextCache()
    model = FlowSepTransformer(
        latent_channels=1,
        latent_frequency_bins=64,
        sample_size=256,
        patch_size_time=args.patch_time,
        num_layers=args.layers,
        text_embed_dim=384,
        **ARCHS[args.arch],
        source="mixture",
        source_noise=max(args.source_noise, 1e-6),
    )
    print("params", sum(p.numel() for p in model.parameters()) / 1e6, flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    rng = np.random.default_rng(0)
    gen = torch.Generator().manual_seed(0)
    history = []
    step, t_start, cpu_spent = 0, time.time(), 0.0

    def within_budget():
        if args.cpu_minutes is not None:
            return cpu_spent < args.cpu_minutes * 60
        return time.time() - t_start < args.minutes * 60

    while within_budget() and step < args.max_steps:
        cpu_start = time.process_time()
        lr = args.lr * min(1.0, (step + 1) / 100)
        if args.cosine:
            lr *= 0.5 * (1 + np.cos(np.pi * min(step / args.max_steps, 1.0)))
        for g in opt.param_groups:
            g["lr"] = lr
        m, t, caps, snrs = make_batch(*train, rng, args.bs, args.p_band)
        states, mask = text(caps)
        mel_m, xmix = reprs(m)
        mel_t, _ = reprs(t)
        floor = mel_m - 4.0
        x0 = ((torch.minimum(torch.maximum(mel_t, floor), mel_m) - MU) / STD).transpose(1, 2).unsqueeze(1)
        B = m.shape[0]
        if args.mode == "predict":
            sigma = torch.ones(B)
        else:
            sigma = torch.rand(B, generator=gen)
        x1 = xmix + args.source_noise * torch.randn(xmix.shape, generator=gen)
        s = sigma.view(-1, 1, 1, 1)
        xs = (1 - s) * x0 + s * x1
        v = run_model(model, xs, xmix, sigma, states, mask)
        loss = 0.0
        if args.loss in ("mse", "both"):
            loss = loss + F.mse_loss(v, x1 - x0)
        if args.loss in ("sisdr", "both"):
            x0_hat = xs - s * v
            tm = F.pad(torch.minimum(to_mel(x0_hat), mel_m), (0, 1), mode="replicate")
            est = mask_decode(tm, m, MEL, "ratio")
            loss = loss - 0.05 * scale_invariant_signal_distortion_ratio(est, t).clamp(max=30).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        cpu_spent += time.process_time() - cpu_start
        if step % 50 == 0:
            print(
                f"step {step} loss {float(loss):.4f} {time.time() - t_start:.0f}s cpu {cpu_spent:.0f}s",
                flush=True,
            )
        if step % args.eval_every == 0:
            steps = 1 if args.mode == "predict" else args.steps
            mean, bands = evaluate(model, valid, text, args, steps)
            history.append(
                {
                    "step": step,
                    "sec": time.time() - t_start,
                    "cpu_sec": cpu_spent,
                    "si_sdri": mean,
                    "bands": bands,
                }
            )
            print("EVAL", history[-1], flush=True)
    steps = 1 if args.mode == "predict" else args.steps
    mean, bands = evaluate(model, valid, text, args, steps)
    history.append(
        {"step": step, "sec": time.time() - t_start, "cpu_sec": cpu_spent, "si_sdri": mean, "bands": bands}
    )
    print("FINAL", history[-1], flush=True)
    json.dump({"args": vars(args), "history": history}, open(args.out, "w"), indent=1)
    if args.save:
        model.save_pretrained(args.save)


if __name__ == "__main__":
    main()
