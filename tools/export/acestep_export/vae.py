"""Oobleck VAE (diffusers AutoencoderOobleck) with the diffusers parameter names.

Convolutions hold a plain `weight`: weight norm (weight_g, weight_v) is folded by the
checkpoint loader, so exported graphs contain ordinary Conv/ConvTranspose nodes.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn


class Snake1d(nn.Module):
    """Logscale snake: x + 1/(exp(beta) + 1e-9) * sin(exp(alpha) * x)^2."""

    def __init__(self, dim: int):
        super().__init__()
        self.alpha = nn.Parameter(torch.zeros(1, dim, 1))
        self.beta = nn.Parameter(torch.zeros(1, dim, 1))

    def forward(self, x):
        alpha = torch.exp(self.alpha)
        beta = torch.exp(self.beta)
        return x + (beta + 1e-9).reciprocal() * torch.sin(alpha * x).pow(2)


class ResidualUnit(nn.Module):
    def __init__(self, dim: int, dilation: int):
        super().__init__()
        self.snake1 = Snake1d(dim)
        self.conv1 = nn.Conv1d(dim, dim, 7, dilation=dilation, padding=3 * dilation)
        self.snake2 = Snake1d(dim)
        self.conv2 = nn.Conv1d(dim, dim, 1)

    def forward(self, x):
        return x + self.conv2(self.snake2(self.conv1(self.snake1(x))))


class EncoderBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.res_unit1 = ResidualUnit(cin, 1)
        self.res_unit2 = ResidualUnit(cin, 3)
        self.res_unit3 = ResidualUnit(cin, 9)
        self.snake1 = Snake1d(cin)
        self.conv1 = nn.Conv1d(cin, cout, 2 * stride, stride=stride, padding=math.ceil(stride / 2))

    def forward(self, x):
        return self.conv1(self.snake1(self.res_unit3(self.res_unit2(self.res_unit1(x)))))


class DecoderBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.snake1 = Snake1d(cin)
        self.conv_t1 = nn.ConvTranspose1d(cin, cout, 2 * stride, stride=stride, padding=math.ceil(stride / 2))
        self.res_unit1 = ResidualUnit(cout, 1)
        self.res_unit2 = ResidualUnit(cout, 3)
        self.res_unit3 = ResidualUnit(cout, 9)

    def forward(self, x):
        return self.res_unit3(self.res_unit2(self.res_unit1(self.conv_t1(self.snake1(x)))))


class OobleckEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        mult = [1] + list(cfg.channel_multiples)
        base = cfg.encoder_hidden_size
        self.conv1 = nn.Conv1d(cfg.audio_channels, base, 7, padding=3)
        self.block = nn.ModuleList(
            [EncoderBlock(base * mult[i], base * mult[i + 1], s) for i, s in enumerate(cfg.downsampling_ratios)]
        )
        self.snake1 = Snake1d(base * mult[-1])
        # Officially encoder_hidden_size (128) doubles as the mean||scale width; the tiny
        # preset decouples the two so its blocks can be narrow.
        self.conv2 = nn.Conv1d(base * mult[-1], 2 * cfg.latent_dim, 3, padding=1)

    def forward(self, x):
        x = self.conv1(x)
        for blk in self.block:
            x = blk(x)
        return self.conv2(self.snake1(x))


class OobleckDecoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        mult = [1] + list(cfg.channel_multiples)
        ch = cfg.decoder_channels
        strides = list(reversed(cfg.downsampling_ratios))
        n = len(strides)
        self.conv1 = nn.Conv1d(cfg.latent_dim, ch * mult[-1], 7, padding=3)
        self.block = nn.ModuleList(
            [DecoderBlock(ch * mult[n - i], ch * mult[n - i - 1], s) for i, s in enumerate(strides)]
        )
        self.snake1 = Snake1d(ch)
        self.conv2 = nn.Conv1d(ch, cfg.audio_channels, 7, padding=3, bias=False)

    def forward(self, z):
        x = self.conv1(z)
        for blk in self.block:
            x = blk(x)
        return self.conv2(self.snake1(x))


class AutoencoderOobleck(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.encoder = OobleckEncoder(cfg)
        self.decoder = OobleckDecoder(cfg)

    def encode_posterior(self, audio):
        """[B,2,S] -> mean, std [B,64,floor(S/1920)]; std = softplus(scale) + 1e-4."""
        h = self.encoder(audio)
        d = self.cfg.latent_dim
        return h[:, :d], F.softplus(h[:, d:]) + 1e-4
