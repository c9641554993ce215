"""Collect the metrics that tools/test.py wrote under work_dirs into the
README's result tables: COCO (box and mask AP) and ADE20K (mIoU, aAcc).

    python tools/analysis/collect_results.py work_dirs [--out results.md]

A run is a folder holding the dumped config ``<name>.py`` and, in
``<timestamp>/<timestamp>.json``, the metrics of a test; the newest test of
each run is used, and the row is named after the config.
"""
import argparse
import glob
import json
import os.path as osp
from typing import Dict, List, Optional

from hiri_mm.fileutils import atomic_write

COCO_KEYS = ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l')
COCO_HEADER = ('| config | AP<sup>b</sup> | AP<sup>b</sup><sub>50</sub> | '
               'AP<sup>b</sup><sub>75</sub> | AP<sup>b</sup><sub>S</sub> | '
               'AP<sup>b</sup><sub>M</sub> | AP<sup>b</sup><sub>L</sub> | '
               'AP<sup>m</sup> | AP<sup>m</sup><sub>50</sub> | '
               'AP<sup>m</sup><sub>75</sub> | AP<sup>m</sup><sub>S</sub> | '
               'AP<sup>m</sup><sub>M</sub> | AP<sup>m</sup><sub>L</sub> |')
ADE_HEADER = '| config | mIoU | aAcc | mAcc |'


def find_runs(root: str) -> Dict[str, dict]:
    """``{config name: metrics}`` of the newest test under each run."""
    runs = {}
    for metrics_file in sorted(glob.glob(osp.join(root, '**', '*', '*.json'),
                                         recursive=True)):
        stamp = osp.basename(osp.dirname(metrics_file))
        if osp.basename(metrics_file) != f'{stamp}.json':
            continue
        run_dir = osp.dirname(osp.dirname(metrics_file))
        configs = glob.glob(osp.join(run_dir, '*.py'))
        with open(metrics_file) as f:
            lines = [json.loads(line) for line in f if line.strip()]
        if not configs or not lines:
            continue
        metrics = lines[-1]
        if not any(k.startswith('coco/') or k == 'mIoU' for k in metrics):
            continue
        name = osp.splitext(osp.basename(configs[0]))[0]
        runs[name] = metrics  # sorted paths: later stamps overwrite
    return runs


def _pct(value: Optional[float], scale: float = 100.) -> str:
    if value is None or value < 0:
        return '-'
    return f'{value * scale:.1f}'


def coco_table(runs: Dict[str, dict]) -> List[str]:
    lines = [COCO_HEADER, '|---' * 13 + '|']
    for name, m in sorted(runs.items()):
        if 'coco/bbox_mAP' not in m:
            continue
        cells = [_pct(m.get(f'coco/{kind}_{k}')) for kind in ('bbox', 'segm')
                 for k in COCO_KEYS]
        lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    return lines


def ade_table(runs: Dict[str, dict]) -> List[str]:
    lines = [ADE_HEADER, '|---|---|---|---|']
    for name, m in sorted(runs.items()):
        if 'mIoU' in m:
            lines.append(f"| {name} | {_pct(m['mIoU'], 1)} | "
                         f"{_pct(m.get('aAcc'), 1)} | {_pct(m.get('mAcc'), 1)} |")
    return lines


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('root', nargs='?', default='work_dirs')
    parser.add_argument('--out', help='also write the tables to this file')
    args = parser.parse_args(argv)
    runs = find_runs(args.root)
    text = '\n'.join(['### COCO', '', *coco_table(runs), '', '### ADE20K', '',
                      *ade_table(runs)]) + '\n'
    print(text)
    if args.out:
        atomic_write(args.out, text)
    return text


if __name__ == '__main__':
    main()
