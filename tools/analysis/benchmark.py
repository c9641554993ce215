"""Side-by-side efficiency of HIRI-ViT and the backbones a user would pick
instead: params, GFLOPs, latency, throughput and peak memory, measured with
one FLOP counter and one timing method for every model.

    python tools/analysis/benchmark.py --setting cls --device cpu --quick
    python tools/analysis/benchmark.py --setting det --device cuda --amp
    python tools/analysis/benchmark.py --sweep --device cpu --quick
    python tools/analysis/benchmark.py --deploy --device cpu

Settings (HIRI-ViT always at twice the peers' resolution):
    cls: HIRI-ViT at 448x448, peers at 224x224 (--quick: 224 vs 112)
    det: HIRI-ViT at 1600x2666, peers at 800x1333 (--quick: 512x832 vs 256x416)

Every model is measured in a fresh subprocess (peak memory is then its own),
as a feature extractor (no classifier head), in eval mode under no_grad.
Latency is the median over ``--repeats`` timed runs after ``--warmup``
runs, with the inter-quartile range as spread. FLOPs are multiply-adds
counted by mmengine.analysis plus hiri_mm's attention handle. Peers that
cannot be built here (a package that does not install beside the pins) are
listed as skipped with the reason. Writes ``<out-dir>/<name>.md`` and
``.csv``; ``--sweep`` also draws ``sweep.png``.
"""
import argparse
import csv
import json
import multiprocessing as mp
import os
import os.path as osp
import resource
import statistics
import sys
import time
from typing import Callable, Dict, List, Tuple

import torch
import torch.nn as nn

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))


class Features(nn.Module):
    """Wrap a model so that forward returns its feature maps only."""

    def __init__(self, model: nn.Module, method: str) -> None:
        super().__init__()
        self.model, self.method = model, method

    def forward(self, x):
        return getattr(self.model, self.method)(x)


def _hiri(arch: str, deploy: bool = False,
          sr_ratios: Tuple[int, int] = (1, 1)) -> Callable:
    def build(hw):
        from hiri_mm import HIRIViT
        model = HIRIViT(arch, sr_ratios=sr_ratios)
        model.eval()
        return model.switch_to_deploy() if deploy else model
    return build


def _mmdet(name: str) -> Callable:
    def build(hw):
        from mmdet.registry import MODELS
        from mmengine.registry import init_default_scope
        init_default_scope('mmdet')
        cfg = {
            'swin_t': dict(type='SwinTransformer', embed_dims=96,
                           depths=[2, 2, 6, 2], num_heads=[3, 6, 12, 24]),
            'pvtv2_b2': dict(type='PyramidVisionTransformerV2',
                             embed_dims=64, num_layers=[3, 4, 6, 3]),
            'resnet50': dict(type='ResNet', depth=50),
        }[name]
        return MODELS.build(cfg)
    return build


def _convnext_t(hw):
    import timm
    return Features(timm.create_model('convnext_tiny'), 'forward_features')


def _fastervit_0(hw):
    from fastervit.models.faster_vit_any_res import faster_vit_0_any_res
    model = faster_vit_0_any_res(resolution=list(hw))
    return Features(model, 'forward_features')


def _hivit_t(hw):
    from mmpretrain.models.backbones import HiViT
    return HiViT(arch='tiny', img_size=hw[0]) if hw[0] == hw[1] else \
        HiViT(arch='tiny', img_size=hw)


# name -> (builder, True for HIRI-ViT: it gets twice the peers' input)
MODELS: Dict[str, Tuple[Callable, bool]] = {
    'HIRI-ViT-S': (_hiri('s'), True),
    'HIRI-ViT-B': (_hiri('b'), True),
    'HIRI-ViT-L': (_hiri('l'), True),
    # Key/value reduction in stage 4: global attention there is quadratic in
    # the token count, which dominates at detection resolution.
    'HIRI-ViT-S sr(2,1)': (_hiri('s', sr_ratios=(2, 1)), True),
    'Swin-T': (_mmdet('swin_t'), False),
    'PVTv2-B2': (_mmdet('pvtv2_b2'), False),
    'ResNet-50': (_mmdet('resnet50'), False),
    'ConvNeXt-T': (_convnext_t, False),
    'FasterViT-0': (_fastervit_0, False),
    'HiViT-T': (_hivit_t, False),
}
SIZES = {
    ('cls', False): ((448, 448), (224, 224)),
    ('cls', True): ((224, 224), (112, 112)),
    ('det', False): ((1600, 2666), (800, 1333)),
    ('det', True): ((512, 832), (256, 416)),
}


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(name: str, build: Callable, hw: Tuple[int, int], args) -> dict:
    """Params, GFLOPs, latency, throughput and peak memory of one model."""
    import hiri_mm  # noqa: F401
    from hiri_mm.openmmlab.analysis import count_params, flop_analyzer
    torch.set_num_threads(args.threads or torch.get_num_threads())
    device = torch.device(args.device)
    model = build(hw)
    model.eval()  # not chained: some mmdet backbones' train() returns None
    row = dict(model=name, input=f'{hw[0]}x{hw[1]}', batch=args.batch_size,
               params_m=count_params(model) / 1e6)
    with torch.no_grad():
        row['gflops'] = flop_analyzer(
            model, (torch.zeros(1, 3, *hw), )).total() / 1e9
    model = model.to(device)
    x = torch.randn(args.batch_size, 3, *hw, device=device)
    if args.channels_last:
        model, x = model.to(memory_format=torch.channels_last), \
            x.to(memory_format=torch.channels_last)
    amp = torch.autocast(device.type, enabled=args.amp,
                         dtype=torch.float16 if device.type == 'cuda'
                         else torch.bfloat16)
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: 0)
    base_rss = _rss_mib()
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    times = []
    with torch.no_grad(), amp:
        for i in range(args.warmup + args.repeats):
            sync()
            start = time.perf_counter()
            model(x)
            sync()
            if i >= args.warmup:
                times.append(time.perf_counter() - start)
    q = statistics.quantiles(times, n=4) if len(times) > 1 else times * 3
    row.update(latency_ms=1e3 * statistics.median(times),
               iqr_ms=1e3 * (q[2] - q[0]),
               throughput=args.batch_size / statistics.median(times))
    row['peak_mem_mib'] = torch.cuda.max_memory_allocated() / 2**20 \
        if device.type == 'cuda' else _rss_mib() - base_rss
    row['gmacs_per_s'] = row['gflops'] * args.batch_size / \
        statistics.median(times)
    return row


def _child(queue, name, hw, args, deploy):
    try:
        build = _hiri(name.split('-')[-1].lower(), True) if deploy else \
            MODELS[name][0]
        row = measure(name + (' (deploy)' if deploy else ''), build, hw, args)
        queue.put(row)
    except Exception as e:  # a peer that cannot be built here
        queue.put(dict(model=name, skipped=f'{type(e).__name__}: {e}'[:200]))


def run_isolated(name: str, hw: Tuple[int, int], args,
                 deploy: bool = False) -> dict:
    """:func:`measure` in a fresh process, so peak memory is the model's."""
    ctx = mp.get_context('spawn')
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(queue, name, hw, args, deploy))
    proc.start()
    row = queue.get()
    proc.join()
    return row


def gemm_rate(device: str, n: int = 2048, trials: int = 7) -> float:
    """This machine's fp32 matrix-multiply rate in GMAC/s: the best of
    ``trials`` timed n x n products (shared machines are noisy; the best
    trial is the attainable peak)."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    sync = torch.cuda.synchronize if device == 'cuda' else (lambda: 0)
    a @ b
    best = float('inf')
    for _ in range(trials):
        sync()
        start = time.perf_counter()
        a @ b
        sync()
        best = min(best, time.perf_counter() - start)
    return n**3 / best / 1e9


COLUMNS = ['model', 'input', 'side', 'batch', 'params_m', 'gflops', 'latency_ms',
           'iqr_ms', 'throughput', 'peak_mem_mib', 'gmacs_per_s',
           'gemm_fraction', 'skipped']


def write_tables(rows: List[dict], out_dir: str, name: str,
                 header: str) -> str:
    os.makedirs(out_dir, exist_ok=True)
    with open(osp.join(out_dir, f'{name}.csv'), 'w', newline='') as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    lines = [header, '',
             '| model | input | params (M) | GFLOPs | latency ms (IQR) | '
             'img/s | peak mem (MiB) |', '|---|---|---|---|---|---|---|']
    for r in rows:
        if 'skipped' in r:
            lines.append(f"| {r['model']} | skipped: {r['skipped']} "
                         '| | | | | |')
            continue
        lines.append(
            f"| {r['model']} | {r['input']} | {r['params_m']:.1f} | "
            f"{r['gflops']:.2f} | {r['latency_ms']:.1f} "
            f"({r['iqr_ms']:.1f}) | {r['throughput']:.1f} | "
            f"{r['peak_mem_mib']:.0f} |")
    text = '\n'.join(lines) + '\n'
    with open(osp.join(out_dir, f'{name}.md'), 'w') as f:
        f.write(text)
    return text


def sweep(args) -> List[dict]:
    """GFLOPs and latency against input side for HIRI-S, Swin-T, PVTv2-B2."""
    sides = [112, 160, 224, 320] if args.quick else \
        [224, 384, 512, 640, 768, 1024]
    rows = [dict(run_isolated(name, (s, s), args), side=s)
            for name in ('HIRI-ViT-S', 'Swin-T', 'PVTv2-B2') for s in sides]
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for name in ('HIRI-ViT-S', 'Swin-T', 'PVTv2-B2'):
        pts = [r for r in rows if r['model'] == name and 'skipped' not in r]
        for ax, key in zip(axes, ('gflops', 'latency_ms')):
            ax.plot([r['side'] for r in pts], [r[key] for r in pts], 'o-',
                    label=name)
    for ax, label in zip(axes, ('GFLOPs', f'latency (ms, {args.device})')):
        ax.set_xlabel('input side (pixels)')
        ax.set_ylabel(label)
        ax.grid(alpha=.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(osp.join(args.out_dir, 'sweep.png'), dpi=100)
    return rows


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--setting', choices=['cls', 'det'], default='cls')
    p.add_argument('--models', nargs='+', default=list(MODELS))
    p.add_argument('--quick', action='store_true',
                   help='smaller sizes, same 2x relation (for CPUs)')
    p.add_argument('--sweep', action='store_true',
                   help='resolution sweep of HIRI-S, Swin-T, PVTv2-B2')
    p.add_argument('--deploy', action='store_true',
                   help='HIRI-ViT-S with and without BatchNorm folding')
    p.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    p.add_argument('--amp', action='store_true',
                   help='fp16 on CUDA, bfloat16 on CPU')
    p.add_argument('--channels-last', action='store_true')
    p.add_argument('--batch-size', type=int, default=1)
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--repeats', type=int, default=10)
    p.add_argument('--threads', type=int, default=0)
    p.add_argument('--out-dir', default='work_dirs/benchmark')
    return p.parse_args(argv)


def main(argv=None) -> List[dict]:
    args = parse_args(argv)
    os.makedirs(args.out_dir, exist_ok=True)
    machine = (torch.cuda.get_device_name() if args.device == 'cuda' else
               f'CPU, {torch.get_num_threads()} threads')
    setting = dict(device=args.device, machine=machine, amp=args.amp,
                   channels_last=args.channels_last, quick=args.quick,
                   batch=args.batch_size, repeats=args.repeats)
    if args.sweep:
        rows = sweep(args)
        name = 'sweep'
    elif args.deploy:
        hw = SIZES[('cls', args.quick)][0]
        rows = [run_isolated('HIRI-ViT-S', hw, args),
                run_isolated('HIRI-ViT-S', hw, args, deploy=True)]
        name = 'deploy'
    else:
        big, small = SIZES[(args.setting, args.quick)]
        rows = [run_isolated(m, big if MODELS[m][1] else small, args)
                for m in args.models]
        name = f'{args.setting}{"_quick" if args.quick else ""}'
    gemm = gemm_rate(args.device)
    header = (f'Setting: {json.dumps(setting)}; fp32 GEMM rate '
              f'{gemm:.1f} GMAC/s')
    for r in rows:
        if 'gmacs_per_s' in r:
            r['gemm_fraction'] = r['gmacs_per_s'] / gemm
    print(write_tables(rows, args.out_dir, name, header))
    for r in rows:
        if 'gemm_fraction' in r:
            print(f"{r['model']} {r['input']}: {r['gmacs_per_s']:.1f} GMAC/s"
                  f" = {100 * r['gemm_fraction']:.1f}% of fp32 GEMM")
    return rows


if __name__ == '__main__':
    main()
