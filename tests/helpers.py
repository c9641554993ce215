"""Constants, option builders and test doubles shared by the tests
(imported as ``from tests.helpers import ...``; fixtures live in
conftest.py)."""
import os


class MakesDir:
    """Unpickling this creates a directory: proof that a checkpoint ran
    code."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path, ))


DET_DEMO = 'configs/demo/maskrcnn_hiri_s_shapes.py'
SEG_DEMO = 'configs/demo/upernet_hiri_s_shapes.py'

# A tiny arch keeps CPU tests fast.
TINY_ARCH = dict(
    channels=(8, 16, 16, 32, 32),
    depths=(1, 1, 1, 1, 1),
    mlp_ratios=(2, 2, 2, 2, 2),
    num_heads=(1, 1, 1, 2, 2),
    downsample_ratios=(2, 2, 2, 2))

def det_options(data_root, epochs):
    """--cfg-options pointing the detection demo at a generated set."""
    root = f'{data_root}/'
    return [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        f'val_evaluator.ann_file={root}annotations/instances_val2017.json',
        f'test_evaluator.ann_file={root}annotations/instances_val2017.json',
        f'train_cfg.max_epochs={epochs}', f'train_cfg.val_interval={epochs}',
        'train_dataloader.batch_size=2',
        'default_hooks.checkpoint.interval=1',
        'default_hooks.checkpoint.max_keep_ckpts=-1',
        'param_scheduler.0.end=4',
    ]


def seg_options(data_root, iters):
    """--cfg-options pointing the segmentation demo at a generated set."""
    return [
        f'train_dataloader.dataset.data_root={data_root}',
        f'val_dataloader.dataset.data_root={data_root}',
        f'test_dataloader.dataset.data_root={data_root}',
        f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
        f'default_hooks.checkpoint.interval={iters}',
        'train_dataloader.batch_size=2', 'param_scheduler.0.end=2',
        'param_scheduler.1.begin=2', f'param_scheduler.1.end={iters}',
    ]
