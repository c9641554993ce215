"""Collect the metrics that tools/test.py wrote under work_dirs into the
README's result tables: COCO (box and mask AP) and ADE20K (mIoU, aAcc).

    python tools/analysis/collect_results.py work_dirs [--out results.md]

A run is a folder holding the dumped config ``<name>.py`` and, in
``<timestamp>/<timestamp>.json``, the metrics of a test. Each run gives a
row per kind of test, named after the config: its newest plain test, and
its newest test-time-augmented one as ``<name> (TTA)`` (told apart by the
model type of the config each test saved in
``<timestamp>/vis_data/config.py``, parsed as data: no config is executed).
Only these JSON metrics and config texts are read, never a pickle. Runs of
one config in several work dirs get the work dir in brackets.
"""
import argparse
import glob
import json
import os.path as osp
from collections import Counter
from typing import Dict, List, Optional, Tuple

from hiri_mm.fileutils import atomic_write
from hiri_mm.openmmlab.safety import parse_config_text

COCO_KEYS = ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l')
COCO_HEADER = ('| config | AP<sup>b</sup> | AP<sup>b</sup><sub>50</sub> | '
               'AP<sup>b</sup><sub>75</sub> | AP<sup>b</sup><sub>S</sub> | '
               'AP<sup>b</sup><sub>M</sub> | AP<sup>b</sup><sub>L</sub> | '
               'AP<sup>m</sup> | AP<sup>m</sup><sub>50</sub> | '
               'AP<sup>m</sup><sub>75</sub> | AP<sup>m</sup><sub>S</sub> | '
               'AP<sup>m</sup><sub>M</sub> | AP<sup>m</sup><sub>L</sub> |')
ADE_HEADER = '| config | mIoU | aAcc | mAcc |'


def _model_type(config_file: str) -> str:
    """``model.type`` of a dumped config, read as data ('' when the file
    has no model or is not plain data)."""
    with open(config_file, encoding='utf-8', errors='replace') as f:
        text = f.read()
    try:
        model = parse_config_text(text).get('model')
    except ValueError:
        return ''
    return str(model.get('type', '')) if isinstance(model, dict) else ''


def _is_tta(stamp_dir: str, run_config: str) -> bool:
    """Whether the test in ``stamp_dir`` wrapped its model for test-time
    augmentation (``DetTTAModel``, ``SegTTAModel``), by the config the test
    saved (else the run's)."""
    saved = osp.join(stamp_dir, 'vis_data', 'config.py')
    kind = _model_type(saved) if osp.isfile(saved) else ''
    return (kind or _model_type(run_config)).endswith('TTAModel')


def find_runs(root: str) -> Dict[str, dict]:
    """``{row name: metrics}``: the newest plain and the newest TTA test of
    each run under ``root``."""
    newest: Dict[Tuple[str, str], dict] = {}
    for metrics_file in sorted(glob.glob(osp.join(root, '**', '*', '*.json'),
                                         recursive=True)):
        stamp_dir = osp.dirname(metrics_file)
        if osp.basename(metrics_file) != f'{osp.basename(stamp_dir)}.json':
            continue
        run_dir = osp.dirname(stamp_dir)
        configs = sorted(glob.glob(osp.join(run_dir, '*.py')))
        with open(metrics_file) as f:
            lines = [json.loads(line) for line in f if line.strip()]
        if not configs or not lines:
            continue
        metrics = lines[-1]
        if not any(k.startswith('coco/') or k == 'mIoU' for k in metrics):
            continue
        name = osp.splitext(osp.basename(configs[0]))[0]
        if _is_tta(stamp_dir, configs[0]):
            name += ' (TTA)'
        newest[run_dir, name] = metrics  # sorted: later stamps overwrite
    work_dirs = Counter(name for _, name in newest)
    return {(name if work_dirs[name] == 1 else
             f'{name} [{osp.relpath(run_dir, root)}]'): metrics
            for (run_dir, name), metrics in newest.items()}


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
                         f"{_pct(m.get('aAcc'), 1)} | "
                         f"{_pct(m.get('mAcc'), 1)} |")
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
