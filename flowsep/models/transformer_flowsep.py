"""FlowSepTransformer: the rectified-flow velocity network over the extended latent.

Input is the noisy target latent and the mixture latent, concatenated on channels (the "extended latent"
of FlowSep). Latents are cut into patches of ``patch_size_time x patch_size_freq``; with
``patch_size_freq == latent_frequency_bins`` (the default) every latent frame is one token with the frequency
axis folded into its channels, which keeps 10.24 s at 256 tokens; a smaller ``patch_size_freq`` gives a grid of
time x band tokens with 2-D positions. Each block is self-attention and a feed-forward network modulated by
adaLN-zero from the timestep and pooled text, plus cross-attention to the text encoder's hidden states. With
``attention_pattern="axial"`` a block's self-attention is dual-path (as in BS-RoFormer and TF-GridNet): along
time within each band group, then along the bands within each frame. A learned null text sequence replaces the
text for classifier-free guidance.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.attention import FeedForward
from diffusers.models.attention_processor import Attention
from diffusers.models.embeddings import TimestepEmbedding, Timesteps, get_1d_sincos_pos_embed_from_grid
from diffusers.models.modeling_utils import ModelMixin  # noqa: F401 (diffusers looks the base up by name)
from diffusers.models.normalization import AdaLayerNormContinuous, AdaLayerNormZero
from einops import rearrange

from ..flow import SOURCES
from .velocity import FlowSepTransformerOutput, VelocityModel

__all__ = ["FlowSepTransformer", "FlowSepTransformerOutput"]

ATTENTION_PATTERNS = ("full", "axial")


class FlowSepBlock(nn.Module):
    """adaLN-zero self-attention (full, or axial: time then bands), cross-attention to text, adaLN-zero
    feed-forward."""

    def __init__(
        self, dim: int, num_heads: int, head_dim: int, mlp_ratio: float, eps: float, pattern: str = "full"
    ):
        super().__init__()
        self.norm1 = AdaLayerNormZero(dim)
        self.attn = Attention(
            query_dim=dim, heads=num_heads, dim_head=head_dim, bias=True, qk_norm="rms_norm"
        )
        self.pattern = pattern
        if pattern == "axial":  # attention across the bands of one frame, starting as the identity
            self.norm_freq = nn.LayerNorm(dim, eps=eps)
            self.attn_freq = Attention(
                query_dim=dim, heads=num_heads, dim_head=head_dim, bias=True, qk_norm="rms_norm"
            )
            nn.init.zeros_(self.attn_freq.to_out[0].weight)
            nn.init.zeros_(self.attn_freq.to_out[0].bias)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.cross_attn = Attention(
            query_dim=dim,
            cross_attention_dim=dim,
            heads=num_heads,
            dim_head=head_dim,
            bias=True,
            qk_norm="rms_norm",
        )
        self.norm3 = nn.LayerNorm(dim, elementwise_affine=False, eps=eps)
        self.ff = FeedForward(dim, mult=mlp_ratio, activation_fn="gelu-approximate")

    def forward(
        self,
        x: torch.Tensor,
        emb: torch.Tensor,
        context: torch.Tensor,
        context_bias: torch.Tensor,
        bands: int,
    ):
        """x: (B, N, D) with N = frames x ``bands`` in (t f) order; emb: (B, D); context: (B, L, D);
        context_bias: (B, 1, L) additive mask."""
        h, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.norm1(x, emb=emb)
        if self.pattern == "axial":
            h = rearrange(h, "b (t f) d -> (b f) t d", f=bands)
            h = rearrange(self.attn(h), "(b f) t d -> b (t f) d", f=bands)
            x = x + gate_msa.unsqueeze(1) * h
            h = rearrange(self.norm_freq(x), "b (t f) d -> (b t) f d", f=bands)
            x = x + rearrange(self.attn_freq(h), "(b t) f d -> b (t f) d", b=x.shape[0])
        else:
            x = x + gate_msa.unsqueeze(1) * self.attn(h)
        x = x + self.cross_attn(self.norm2(x), encoder_hidden_states=context, attention_mask=context_bias)
        h = self.norm3(x) * (1 + scale_mlp.unsqueeze(1)) + shift_mlp.unsqueeze(1)
        return x + gate_mlp.unsqueeze(1) * self.ff(h)


class FlowSepTransformer(VelocityModel, ConfigMixin):
    r"""
    Velocity network of FlowSep.

    Args:
        latent_channels (`int`, defaults to 8): channels of the VAE latent (output channels; input is twice this).
        latent_frequency_bins (`int`, defaults to 16): frequency size of the latent (64 mel bands / 4).
        sample_size (`int`, defaults to 256): latent frames of one training segment (10.24 s at 16 kHz).
        patch_size_time (`int`, defaults to 1): latent frames per token.
        patch_size_freq (`int`, defaults to 16): latent frequency bins per token.
        attention_pattern (`str`, defaults to `"full"`): `"full"` self-attention over all tokens, or `"axial"`:
            along time within each band group, then along the band groups of each frame.
        num_layers (`int`, defaults to 12): transformer blocks.
        num_attention_heads (`int`, defaults to 12): attention heads.
        attention_head_dim (`int`, defaults to 64): channels per head; the width is heads x head_dim.
        text_embed_dim (`int`, defaults to 1024): hidden size of the text encoder (Flan-T5-large: 1024).
        mlp_ratio (`float`, defaults to 4.0): feed-forward expansion.
        timestep_embed_dim (`int`, defaults to 256): sinusoidal timestep features.
        norm_eps (`float`, defaults to 1e-6): layer-norm epsilon.
        source (`str`, defaults to `"noise"`): where the flow starts (see `flowsep.flow.source_sample`):
            FlowSep's Gaussian `"noise"`, or `"mixture"` (the mixture latent plus `source_noise` x noise). The
            network learnt one of them, so samplers read it from here.
        source_noise (`float`, defaults to 1.0): noise scale of the `"mixture"` source during training.
    """

    _supports_gradient_checkpointing = True
    _no_split_modules = ["FlowSepBlock"]

    @register_to_config
    def __init__(
        self,
        latent_channels: int = 8,
        latent_frequency_bins: int = 16,
        sample_size: int = 256,
        patch_size_time: int = 1,
        patch_size_freq: int = 16,
        num_layers: int = 12,
        num_attention_heads: int = 12,
        attention_head_dim: int = 64,
        text_embed_dim: int = 1024,
        mlp_ratio: float = 4.0,
        timestep_embed_dim: int = 256,
        norm_eps: float = 1e-6,
        source: str = "noise",
        source_noise: float = 1.0,
        attention_pattern: str = "full",
    ):
        super().__init__()
        if source not in SOURCES:
            raise ValueError(f"source={source!r}: choose one of {SOURCES}")
        if attention_pattern not in ATTENTION_PATTERNS:
            raise ValueError(f"attention_pattern={attention_pattern!r}: choose one of {ATTENTION_PATTERNS}")
        if latent_frequency_bins % patch_size_freq:
            raise ValueError(f"patch_size_freq={patch_size_freq} must divide latent_frequency_bins")
        dim = num_attention_heads * attention_head_dim
        patch_dim = 2 * latent_channels * patch_size_time * patch_size_freq
        self.patch_embed = nn.Linear(patch_dim, dim)
        self.time_proj = Timesteps(timestep_embed_dim, flip_sin_to_cos=True, downscale_freq_shift=0)
        self.time_embedding = TimestepEmbedding(timestep_embed_dim, dim)
        self.text_pooler = TimestepEmbedding(text_embed_dim, dim)
        self.context_embedder = nn.Linear(text_embed_dim, dim)
        self.null_text_embedding = nn.Parameter(torch.randn(1, 1, text_embed_dim) * 0.02)
        self.blocks = nn.ModuleList(
            FlowSepBlock(dim, num_attention_heads, attention_head_dim, mlp_ratio, norm_eps, attention_pattern)
            for _ in range(num_layers)
        )
        self.norm_out = AdaLayerNormContinuous(dim, dim, elementwise_affine=False, eps=norm_eps)
        self.proj_out = nn.Linear(dim, latent_channels * patch_size_time * patch_size_freq)
        self.gradient_checkpointing = False
        self._zero_init_modulation()

    def _zero_init_modulation(self):
        """adaLN-zero: every block starts as the identity and the output as zero velocity."""
        for block in self.blocks:
            nn.init.zeros_(block.norm1.linear.weight)
            nn.init.zeros_(block.norm1.linear.bias)
        nn.init.zeros_(self.proj_out.weight)
        nn.init.zeros_(self.proj_out.bias)

    def _positions(self, grid_time: int, grid_freq: int, device: torch.device) -> torch.Tensor:
        """Sinusoidal 2-D positions, half the channels for time and half for frequency: (N, D)."""
        dim = self.config.num_attention_heads * self.config.attention_head_dim
        time_pos = get_1d_sincos_pos_embed_from_grid(dim // 2, torch.arange(grid_time, device=device).float())
        freq_pos = get_1d_sincos_pos_embed_from_grid(dim // 2, torch.arange(grid_freq, device=device).float())
        grid = torch.cat(
            [time_pos[:, None].expand(-1, grid_freq, -1), freq_pos[None].expand(grid_time, -1, -1)], dim=-1
        )
        return grid.reshape(grid_time * grid_freq, dim).float()

    def _text_conditioning(self, states, mask, drop):
        """Replace dropped rows by the null sequence; return (states, mask) of shapes (B, L, E) and (B, L)."""
        batch = drop.shape[0]
        if states is None:
            states = self.null_text_embedding.expand(batch, 1, -1)
            mask = torch.ones(batch, 1, dtype=torch.bool, device=states.device)
            return states, mask
        if mask is None:
            mask = torch.ones(states.shape[:2], dtype=torch.bool, device=states.device)
        mask = mask.bool()
        null_mask = torch.zeros_like(mask)
        null_mask[:, 0] = True
        states = torch.where(drop[:, None, None], self.null_text_embedding.to(states.dtype), states)
        mask = torch.where(drop[:, None], null_mask, mask)
        return states, mask

    def _velocity(self, x, timestep, states, mask) -> torch.Tensor:
        """Extended latent ``(B, 2C, T, F)`` -> velocity ``(B, C, T, F)``, see [`VelocityModel.forward`]."""
        frames, freq = x.shape[-2:]
        pt, pf = self.config.patch_size_time, self.config.patch_size_freq
        if frames % pt:
            raise ValueError(f"latent length {frames} is not a multiple of patch_size_time={pt}")
        x = rearrange(x, "b c (t pt) (f pf) -> b (t f) (c pt pf)", pt=pt, pf=pf)
        x = self.patch_embed(x) + self._positions(frames // pt, freq // pf, x.device).to(x.dtype)  # (B, N, D)

        weights = mask.to(states.dtype).unsqueeze(-1)  # (B, L, 1)
        pooled = (states * weights).sum(1) / weights.sum(1).clamp(min=1.0)  # (B, E)
        emb = self.time_embedding(self.time_proj(timestep).to(x.dtype)) + self.text_pooler(pooled.to(x.dtype))
        context = self.context_embedder(states.to(x.dtype))  # (B, L, D)
        context_bias = torch.zeros(mask.shape, dtype=x.dtype, device=x.device).masked_fill(~mask, -1e4)
        context_bias = context_bias.unsqueeze(1)  # (B, 1, L)

        for block in self.blocks:
            if torch.is_grad_enabled() and self.gradient_checkpointing:
                x = self._gradient_checkpointing_func(block, x, emb, context, context_bias, freq // pf)
            else:
                x = block(x, emb, context, context_bias, freq // pf)

        x = self.proj_out(self.norm_out(x, emb))  # (B, N, C * pt * pf)
        return rearrange(
            x, "b (t f) (c pt pf) -> b c (t pt) (f pf)", t=frames // pt, f=freq // pf, pt=pt, pf=pf
        )
