"""EMA distillation (HIRI-ViT paper, "EMA Distillation").

The teacher is the exponential moving average of the student (timm's
ModelEmaV3 keeps it). Besides the usual classification loss, the student is
pulled towards the teacher's predicted class distribution, so the average
feeds back into the student instead of only trailing it. No external
teacher network is involved.

The paper gives neither the weight nor the temperature of the distillation
term; the defaults here (1 and 1) are ours. Plain torch + timm: the
OpenMMLab training wrapper is :mod:`hiri_mm.openmmlab.classification`.
"""
from typing import Callable, Dict, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.utils import ModelEmaV3


def distillation_loss(student_logits: torch.Tensor,
                      teacher_logits: torch.Tensor,
                      temperature: float = 1.) -> torch.Tensor:
    """``T^2 * KL(softmax(t/T) || softmax(s/T))``, averaged over the batch.

    Both logits are (B, num_classes); the teacher side carries no gradient.
    """
    t = temperature
    return F.kl_div(
        F.log_softmax(student_logits / t, dim=-1),
        F.log_softmax(teacher_logits.detach() / t, dim=-1),
        reduction='batchmean', log_target=True) * t * t


class EMADistillation(nn.Module):
    """A student, its EMA teacher, and the two loss terms.

    Args:
        student (nn.Module): The classifier being trained,
            (B, 3, H, W) -> (B, num_classes) logits.
        criterion (callable): Classification loss ``(logits, target)``,
            e.g. soft-target cross-entropy under Mixup/CutMix.
        decay (float): Nominal EMA decay of the teacher.
        weight (float): Weight of the distillation term.
        temperature (float): Softmax temperature of the distillation term.
        warmup_power (float, optional): ModelEmaV3's decay warm-up,
            ``decay_t = min(decay, 1 - (1 + t) ** -warmup_power)`` at
            optimizer step ``t``; ``None`` uses ``decay`` from the second
            step on. With power 1 the decay is ``(t - 1) / t``, which
            reaches 0.9998 after 5,000 steps (4 of 300 ImageNet epochs at
            batch 1024); timm's default power 2/3 would need 354k steps,
            i.e. stay near 0.998 for most of a 300-epoch run.

    State: ``student.*`` and ``teacher.module.*`` (the EMA copy, no
    gradients). Call :meth:`update_teacher` after every optimizer step.
    """

    def __init__(self, student: nn.Module, criterion: Callable,
                 decay: float = 0.9998, weight: float = 1.,
                 temperature: float = 1.,
                 warmup_power: Optional[float] = 1.) -> None:
        super().__init__()
        if not 0 <= decay < 1:
            raise ValueError(f'EMA decay must be in [0, 1), got {decay}')
        self.student = student
        self.teacher = ModelEmaV3(
            student, decay=decay, use_warmup=warmup_power is not None,
            warmup_power=1. if warmup_power is None else warmup_power)
        self.teacher.requires_grad_(False)
        self.criterion = criterion
        self.weight = weight
        self.temperature = temperature

    def forward(self, images: torch.Tensor,
                target: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Losses for a batch of images (B, 3, H, W) and targets (B, ) or
        (B, num_classes): ``loss_cls`` and ``loss_distill`` (already
        multiplied by ``weight``); the loss to minimise is their sum."""
        logits = self.student(images)
        self.teacher.eval()
        with torch.no_grad():
            teacher_logits = self.teacher.module(images)
        return dict(
            loss_cls=self.criterion(logits, target),
            loss_distill=self.weight * distillation_loss(
                logits, teacher_logits, self.temperature))

    @torch.no_grad()
    def update_teacher(self, step: Optional[int] = None) -> None:
        """Move the teacher towards the student with the decay of
        optimizer step ``step`` (counted from 1; the first step copies)."""
        self.teacher.update(self.student, step=step)
