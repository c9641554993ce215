"""The embedded default job: generate a small dataset, train a HIRI-ViT
model on it, evaluate it and draw its predictions. CPU only, no download.

    python tools/demo.py                 # detection + segmentation
    python tools/demo.py --task det      # Mask R-CNN on COCO-style shapes

Each run gets a folder of its own, work_dirs/demo_<task>/<timestamp>[_<n>]/
(created exclusively, so runs started in the same second never share one),
and earlier runs' checkpoints and logs are never overwritten. The data sets
under data/ are generated once, atomically, and reused while their manifest
matches the requested sizes; a set that another run uses is never replaced.
"""
import argparse
import glob
import io
import json
import os.path as osp
import sys
import time

from mmengine.utils import ProgressBar

from hiri_mm.datasets import make_ade_shapes, make_coco_shapes
from hiri_mm.errors import HiriMMError
from hiri_mm.fileutils import atomic_write, make_unique_dir
from hiri_mm.openmmlab.cli import config_for, test, train

TASKS = {
    'det': dict(
        config='configs/demo/maskrcnn_hiri_s_shapes.py',
        data_root='data/shapes_coco',
        make_data=make_coco_shapes,
        val_images='val2017/*.png'),
    'seg': dict(
        config='configs/demo/upernet_hiri_s_shapes.py',
        data_root='data/shapes_ade',
        make_data=make_ade_shapes,
        val_images='images/validation/*.png'),
}
STEPS = 4  # data, train, test, draw
DECIMALS = 4  # of the metrics written to demo_metrics.json


def _progress(total: int) -> ProgressBar:
    """mmengine's progress bar on stdout when it is a terminal, else mute."""
    return ProgressBar(total, file=sys.stdout if sys.stdout.isatty()
                       else io.StringIO())


def run_task(name: str, num_train: int, num_val: int) -> dict:
    """Data, training, test and drawn predictions of one task; returns the
    test metrics."""
    task = TASKS[name]
    progress = _progress(STEPS)
    task['make_data'](task['data_root'], num_train=num_train,
                      num_val=num_val)
    progress.update()
    work_dir = make_unique_dir(osp.join('work_dirs', f'demo_{name}',
                                        time.strftime('%Y%m%d_%H%M%S')))
    print(f'[demo:{name}] work dir {work_dir}')
    train([task['config'], '--work-dir', work_dir])
    progress.update()
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    metrics = test(config_for(task['config'], osp.join(work_dir, 'test')),
                   checkpoint)
    progress.update()
    images = sorted(glob.glob(osp.join(task['data_root'],
                                       task['val_images'])))[:4]
    vis_dir = osp.join(work_dir, 'predictions')
    if name == 'det':
        from mmdet.apis import DetInferencer
        DetInferencer(task['config'], checkpoint, device='cpu')(
            images, out_dir=vis_dir)
    else:
        from mmseg.apis import MMSegInferencer
        MMSegInferencer(task['config'], checkpoint, device='cpu')(
            images, out_dir=vis_dir)
    progress.update()
    # Four decimals: mmseg's float32 metrics would print as 99.30999755859375.
    metrics = {k: round(float(v), DECIMALS) for k, v in metrics.items()}
    atomic_write(osp.join(work_dir, 'demo_metrics.json'),
                 json.dumps(metrics, indent=2))
    print(f'\n[demo:{name}] metrics: {json.dumps(metrics)}')
    print(f'[demo:{name}] predictions drawn in {vis_dir}/vis')
    return metrics


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--task', choices=['det', 'seg', 'all'],
                        default='all')
    parser.add_argument('--num-train', type=int, default=96)
    parser.add_argument('--num-val', type=int, default=24)
    args = parser.parse_args(argv)
    names = list(TASKS) if args.task == 'all' else [args.task]
    try:
        return {n: run_task(n, args.num_train, args.num_val) for n in names}
    except HiriMMError as error:
        raise SystemExit(str(error)) from None


if __name__ == '__main__':
    main()
