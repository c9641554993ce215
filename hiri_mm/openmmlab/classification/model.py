"""A timm classifier trained with EMA distillation, as an mmengine model,
and the hook that moves its teacher after every optimizer step."""
from typing import Dict, List, Optional, Union

import timm
import torch
from mmengine.hooks import Hook
from mmengine.model import BaseModel, is_model_wrapper
from mmengine.registry import HOOKS, MODELS
from timm.loss import SoftTargetCrossEntropy

from ...ema_distillation import EMADistillation


@MODELS.register_module()
class EMADistillClassifier(BaseModel):
    """``timm.create_model(model_name)`` as student, its EMA as teacher.

    Training minimises soft-target cross-entropy plus the EMA-distillation
    KL term (:class:`hiri_mm.ema_distillation.EMADistillation`); evaluation
    scores student and teacher on the same images. The teacher is updated
    by :class:`EMATeacherHook`, which the configs register.

    Args:
        model_name (str): timm model, e.g. ``'hiri_vit_s'``.
        num_classes (int): Classes; also given to the data preprocessor.
        drop_path_rate (float, optional): Stochastic depth of the student;
            the model's default when None.
        model_kwargs (dict, optional): Further ``timm.create_model``
            arguments (e.g. ``arch=dict(...)`` for a custom HIRIViT).
        ema_decay (float): Nominal decay of the teacher.
        ema_warmup_power (float, optional): Decay warm-up, see
            :class:`EMADistillation`; None for a constant decay.
        distill_weight (float): Weight of the distillation term.
        distill_temperature (float): Its softmax temperature.
        data_preprocessor (dict, optional): Defaults to
            ``MixupDataPreprocessor`` without Mixup or label smoothing.
        init_cfg (dict, optional): mmengine initialisation config.

    State dict: ``distiller.student.*`` (the timm classifier) and
    ``distiller.teacher.module.*`` (its EMA); tools/convert_checkpoint.py
    picks the backbone of either.
    """

    def __init__(self,
                 model_name: str,
                 num_classes: int = 1000,
                 drop_path_rate: Optional[float] = None,
                 model_kwargs: Optional[dict] = None,
                 ema_decay: float = 0.9998,
                 ema_warmup_power: Optional[float] = 1.,
                 distill_weight: float = 1.,
                 distill_temperature: float = 1.,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        data_preprocessor = {'type': 'MixupDataPreprocessor',
                             **(data_preprocessor or {})}
        data_preprocessor.setdefault('num_classes', num_classes)
        if data_preprocessor['num_classes'] != num_classes:
            raise ValueError(
                f'data_preprocessor.num_classes '
                f'({data_preprocessor["num_classes"]}) != model.num_classes '
                f'({num_classes}): set only model.num_classes')
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        student = timm.create_model(model_name, num_classes=num_classes,
                                    drop_path_rate=drop_path_rate,
                                    **(model_kwargs or {}))
        self.distiller = EMADistillation(
            student, SoftTargetCrossEntropy(), decay=ema_decay,
            weight=distill_weight, temperature=distill_temperature,
            warmup_power=ema_warmup_power)

    def forward(self, inputs: torch.Tensor,
                data_samples: Optional[torch.Tensor] = None,
                mode: str = 'tensor'
                ) -> Union[Dict[str, torch.Tensor], List[dict],
                           torch.Tensor]:
        """Images (B, 3, H, W) and, per mode:

        - ``'loss'``: soft targets (B, num_classes) -> ``dict(loss_cls,
          loss_distill)``;
        - ``'predict'``: labels (B, ) -> one ``dict(gt_label, student,
          teacher)`` per image, with (num_classes, ) logits of each model;
        - ``'tensor'``: the student's logits (B, num_classes).
        """
        if mode == 'loss':
            return self.distiller(inputs, data_samples)
        student = self.distiller.student(inputs)
        if mode == 'tensor':
            return student
        if mode != 'predict':
            raise ValueError(f'mode must be "loss", "predict" or "tensor", '
                             f'got {mode!r}')
        teacher = self.distiller.teacher.module(inputs)
        return [dict(gt_label=label, student=s, teacher=t)
                for label, s, t in zip(data_samples, student, teacher)]

    def update_teacher(self, step: int) -> None:
        """EMA update after optimizer step ``step`` (counted from 1)."""
        self.distiller.update_teacher(step)


@HOOKS.register_module()
class EMATeacherHook(Hook):
    """Update the EMA teacher of an :class:`EMADistillClassifier` after
    every training iteration whose optimizer stepped.

    The warm-up step is the Runner's iteration count, so a resumed run
    continues the decay schedule where it stopped (the teacher's weights
    are part of the model's state dict). Works with the model wrapped in
    (MM)DistributedDataParallel: every rank updates its own copy from the
    same synchronised student, so the teachers stay identical.
    """

    priority = 'ABOVE_NORMAL'

    @staticmethod
    def _model(runner) -> BaseModel:
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def before_train(self, runner) -> None:
        if not hasattr(self._model(runner), 'update_teacher'):
            raise TypeError(
                f'EMATeacherHook needs a model with update_teacher(step) '
                f'(EMADistillClassifier), got '
                f'{type(self._model(runner)).__name__}: remove the hook '
                'from custom_hooks or change model.type')

    def after_train_iter(self, runner, batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        if runner.optim_wrapper.should_update():
            self._model(runner).update_teacher(runner.iter + 1)
