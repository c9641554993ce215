"""The embedded default job: generate a small dataset, train a HIRI-ViT
model on it, evaluate it and draw its predictions. CPU only, no download.

    python tools/demo.py                 # detection + segmentation
    python tools/demo.py --task det      # Mask R-CNN on COCO-style shapes

Each run writes into its own work_dirs/demo_<task>/<timestamp>/, so earlier
runs' checkpoints and logs are never overwritten.
"""
import argparse
import glob
import json
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import hiri_mm  # noqa: E402,F401
from hiri_mm.datasets import make_ade_shapes, make_coco_shapes  # noqa: E402

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


def run_task(name: str, num_train: int, num_val: int) -> dict:
    from tools.test import main as test
    from tools.train import main as train
    task = TASKS[name]
    if not osp.isdir(task['data_root']):
        task['make_data'](task['data_root'], num_train=num_train,
                          num_val=num_val)
    work_dir = osp.join('work_dirs', f'demo_{name}',
                        time.strftime('%Y%m%d_%H%M%S'))
    train([task['config'], '--work-dir', work_dir])
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    metrics = test([task['config'], checkpoint, '--work-dir',
                    osp.join(work_dir, 'test')])
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
    metrics = {k: float(v) for k, v in metrics.items()}
    with open(osp.join(work_dir, 'demo_metrics.json'), 'w') as f:
        json.dump(metrics, f, indent=2)
    print(f'[demo:{name}] metrics: {json.dumps(metrics)}')
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
    return {n: run_task(n, args.num_train, args.num_val) for n in names}


if __name__ == '__main__':
    main()
