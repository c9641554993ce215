"""ImageNet-style data for the Runner: an ImageFolder dataset, timm's
transforms as a pipeline step, and Mixup/CutMix as a batch preprocessor."""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.dataset import BaseDataset
from mmengine.model import BaseDataPreprocessor
from mmengine.registry import DATASETS, MODELS, TRANSFORMS
from timm.data import Mixup, create_transform
from timm.data.mixup import mixup_target
from torchvision.datasets.folder import (IMG_EXTENSIONS, default_loader,
                                         find_classes, make_dataset)


@DATASETS.register_module()
class ImageFolderDataset(BaseDataset):
    """Images in ``data_root/data_prefix['img_path']/<class>/*``, labelled
    by the sorted class folder names (torchvision's ImageFolder rule).

    Args:
        classes_from (str, optional): Folder (under ``data_root``) whose
            sub-folder names define the classes; the split's own folder when
            None. Point the validation split at ``'train'`` so that both
            index classes alike: a class missing from ``val/`` then cannot
            shift the labels, and a class that ``train/`` lacks is an error.
        **kwargs: :class:`mmengine.dataset.BaseDataset` arguments
            (``data_root``, ``data_prefix=dict(img_path=...)``,
            ``pipeline``, ``indices``, ...).

    Every sample is ``dict(img_path=str, gt_label=int)`` before the
    pipeline; ``metainfo['classes']`` holds the class names.
    """

    def __init__(self, *args, classes_from: Optional[str] = None,
                 **kwargs) -> None:
        self.classes_from = classes_from
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        folder = self.data_prefix['img_path']
        if not osp.isdir(folder):
            raise FileNotFoundError(
                f'Image folder {folder} not found: expected '
                f'<data_root>/<split>/<class>/<image> (set data_root and '
                f'data_prefix.img_path in the config)')
        classes, class_to_idx = find_classes(folder)
        if self.classes_from is not None:
            reference = osp.join(self.data_root, self.classes_from)
            ref_classes, class_to_idx = find_classes(reference)
            unknown = sorted(set(classes) - set(ref_classes))
            if unknown:
                raise ValueError(
                    f'{folder} has class folders that {reference} lacks: '
                    f'{unknown[:5]}{"..." if len(unknown) > 5 else ""}; '
                    'both splits need the same class folder names')
            classes = ref_classes
        self._metainfo['classes'] = tuple(classes)
        return [dict(img_path=path, gt_label=label)
                for path, label in make_dataset(
                    folder, class_to_idx, extensions=IMG_EXTENSIONS,
                    allow_empty=self.classes_from is not None)]


@TRANSFORMS.register_module()
class TimmImageTransform:
    """Load ``results['img_path']`` as RGB and apply
    ``timm.data.create_transform(**kwargs)``.

    Training (``is_training=True``): random resized crop, flip,
    RandAugment (``auto_augment``), normalisation and Random Erasing
    (``re_prob``, ``re_mode``). Evaluation: resize to
    ``input_size / crop_pct`` and centre crop. ``interpolation`` applies to
    both.

    Returns ``dict(inputs=(3, H, W) float tensor, data_samples=label)``,
    which ``default_collate`` stacks into a batch.
    """

    def __init__(self, **kwargs) -> None:
        self.transform = create_transform(**kwargs)

    def __call__(self, results: dict) -> dict:
        image = default_loader(results['img_path'])
        return dict(inputs=self.transform(image),
                    data_samples=results['gt_label'])

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.transform})'


@MODELS.register_module()
class MixupDataPreprocessor(BaseDataPreprocessor):
    """Move a batch to the device; in training, turn labels into soft
    targets with timm's Mixup/CutMix and label smoothing.

    Args:
        num_classes (int): Number of classes (soft target width).
        label_smoothing (float): Label smoothing of the training targets.
        mixup (dict, optional): ``timm.data.Mixup`` arguments, e.g.
            ``dict(mixup_alpha=0.8, cutmix_alpha=1.0)``; None trains on the
            smoothed labels of the unmixed images. Mixup needs an even batch
            size (``drop_last=True`` in the training loader).

    Input ``dict(inputs=(B, 3, H, W), data_samples=(B, ) int labels)``.
    Output in training: the (possibly mixed) inputs and ``data_samples`` as
    (B, num_classes) soft targets; in evaluation the labels unchanged.
    """

    def __init__(self, num_classes: int, label_smoothing: float = 0.,
                 mixup: Optional[dict] = None,
                 non_blocking: bool = False) -> None:
        super().__init__(non_blocking)
        self.num_classes = num_classes
        self.label_smoothing = label_smoothing
        self.mixup = None if mixup is None else Mixup(
            **mixup, label_smoothing=label_smoothing, num_classes=num_classes)

    def forward(self, data: dict, training: bool = False
                ) -> Dict[str, Union[torch.Tensor, Sequence]]:
        # Labels come from the CPU loader: checking them here costs no
        # device synchronisation.
        labels = data['data_samples']
        if int(labels.max()) >= self.num_classes:
            raise ValueError(
                f'Class index {int(labels.max())} in the batch, but '
                f'num_classes={self.num_classes}: set model.num_classes to '
                'the number of class folders')
        data = self.cast_data(data)
        inputs, labels = data['inputs'], data['data_samples']
        if not training:
            return dict(inputs=inputs, data_samples=labels)
        if self.mixup is not None:
            if len(inputs) % 2:
                raise ValueError(
                    f'Mixup/CutMix needs an even batch size, got '
                    f'{len(inputs)}: use an even batch_size and '
                    'drop_last=True in train_dataloader')
            inputs, targets = self.mixup(inputs, labels)
        else:
            targets = mixup_target(labels, self.num_classes,
                                   smoothing=self.label_smoothing)
        return dict(inputs=inputs, data_samples=targets)
