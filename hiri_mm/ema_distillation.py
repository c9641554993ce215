"""EMA distillation (HIRI-ViT paper, "EMA Distillation").

The teacher is the exponential moving average of the student (timm's
ModelEmaV3 keeps it). Besides the usual classification loss, the student is
pulled towards the teacher's predicted class distribution, so the average
feeds back into the student instead of only trailing it. No external
teacher network is involved.
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
    """A student, its EMA teacher, and the combined loss.

    Args:
        student (nn.Module): The classifier being trained.
        criterion (callable): Classification loss ``(logits, target)``,
            e.g. soft-target cross-entropy under Mixup/CutMix.
        decay (float): EMA decay of the teacher.
        weight (float): Weight of the distillation term.
        temperature (float): Softmax temperature of the distillation term.
        warmup (bool): Ramp the EMA decay up over the first steps
            (ModelEmaV3's warm-up), so the early teacher follows closely.

    Call :meth:`update_teacher` after every optimiser step.
    """

    def __init__(self, student: nn.Module, criterion: Callable,
                 decay: float = 0.9998, weight: float = 1.,
                 temperature: float = 1., warmup: bool = True) -> None:
        super().__init__()
        self.student = student
        self.teacher = ModelEmaV3(student, decay=decay, use_warmup=warmup)
        self.teacher.requires_grad_(False)
        self.criterion = criterion
        self.weight = weight
        self.temperature = temperature

    def forward(self, images: torch.Tensor,
                target: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Losses for a batch: ``loss`` (to back-propagate), ``loss_cls``
        and ``loss_distill``, plus the student's ``logits``."""
        logits = self.student(images)
        self.teacher.eval()
        with torch.no_grad():
            teacher_logits = self.teacher.module(images)
        loss_cls = self.criterion(logits, target)
        loss_distill = distillation_loss(logits, teacher_logits,
                                         self.temperature)
        return dict(loss=loss_cls + self.weight * loss_distill,
                    loss_cls=loss_cls, loss_distill=loss_distill,
                    logits=logits)

    @torch.no_grad()
    def update_teacher(self, step: Optional[int] = None) -> None:
        self.teacher.update(self.student, step=step)
