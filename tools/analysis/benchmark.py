"""Speed of HIRI-ViT beside the backbones users pick instead, with torch
and timm alone (mmdet, fastervit and mmpretrain peers join when installed).

    python tools/analysis/benchmark.py --device cuda --amp --channels-last --compile --deploy
    python tools/analysis/benchmark.py --device cpu --setting cls --measure latency --deploy --onnxruntime
    python tools/analysis/benchmark.py --quick ...          # small sizes, for tests

Run from the repository root (``PYTHONPATH=.`` if hiri_mm is not
installed). Settings, HIRI-ViT always at twice the peers' resolution:

    cls  HIRI-ViT 448x448, peers 224x224
    det  HIRI-ViT 1600x2666, peers 800x1333 (Swin-T 800x1344: its patches
         and windows need a long side divisible by 32); plain-ViT and
         MaxViT peers are left out (no detection pyramid / fixed grids);
         "HIRI-ViT-S win14" attends within 14x14 windows in stage 4
         (``window_sizes=(14, None)``), the grid stage 4 sees at 448

Measures (``--measure``, any of):

    throughput  images/s at ``--batch`` (default 128 on CUDA, 8 on CPU)
    latency     ms per image at batch 1
    train       images/s of a training step (forward, backward of the
                outputs' mean, AdamW step) at ``--train-batch`` (default
                64 on CUDA, 4 on CPU); ``--amp`` trains in bfloat16
    peak memory of each measure (CUDA allocator; not measured on CPU)

Inference runs in eval mode under ``torch.inference_mode``, with fp16
autocast on CUDA (bfloat16 on CPU) when ``--amp`` is given. ``--compile``
adds ``torch.compile``'d rows, ``--deploy`` adds HIRI-ViT after
``switch_to_deploy()``; ``--onnxruntime`` adds the latency of HIRI-ViT
(deploy-folded) and Swin-T exported to ONNX alike (static shapes, opset 17)
and run by onnxruntime on the CPU (a skipped row says why where
onnxruntime is not installed). Every model is measured in a fresh
subprocess (forked from a server that has imported torch once); times are
medians of repeated calls over at least ``--min-run-time`` seconds
(inter-quartile range as spread). ``--rounds N`` measures every row N
times, the rows interleaved, and keeps each number's median over the
rounds: on a shared machine that is steadier than one long run per model.
Progress (one line per model and measure, with an estimate of the time
left) goes to stderr when it is a terminal, or with ``--progress``.
``--quick`` (for tests) uses small inputs, one thread, one warm-up call,
0.05 s of timed calls, and by default HIRI-ViT-S, Swin-T and MaxViT-T only
(which cannot take the small input: a skipped row). Multiply-adds (GMACs) of one image are
counted as tools/analysis/get_flops.py counts them when mmengine is
installed, else with ``torch.utils.flop_counter`` (which leaves out norms:
about 5% less for HIRI-ViT); ``env.json`` names the counter. Writes ``<out-dir>/<setting>.md``, ``.csv`` and ``env.json``;
ratios are against Swin-T in the same variant.
"""
import argparse
import csv
import json
import multiprocessing as mp
import os
import os.path as osp
import platform
import queue as queues
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from importlib.util import find_spec
from typing import Callable, Dict, List, Optional, Tuple

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

Size = Tuple[int, int]


class Features(nn.Module):
    """A model whose forward returns its feature maps (or tokens) only."""

    def __init__(self, model: nn.Module, method: str) -> None:
        super().__init__()
        self.model, self.method = model, method

    def forward(self, x: torch.Tensor):
        return getattr(self.model, self.method)(x)


@dataclass
class Spec:
    """How to build one model.

    Attributes:
        build: ``(input size) -> nn.Module`` returning feature maps.
        hiri: HIRI-ViT (fed twice the peers' resolution).
        settings: The settings it takes part in.
        size: Input size overrides per setting (e.g. Swin-T's 800x1344).
        needs: A module that must be importable, else the row is skipped.
        onnx: Takes part in the ``--onnxruntime`` rows.
    """
    build: Callable[[Size], nn.Module]
    hiri: bool = False
    settings: Tuple[str, ...] = ('cls', 'det')
    size: Dict[str, Size] = field(default_factory=dict)
    needs: Optional[str] = None
    onnx: bool = False


def _hiri(arch: str, **kwargs) -> Callable[[Size], nn.Module]:
    def build(hw: Size) -> nn.Module:
        from hiri_mm import HIRIViT
        return HIRIViT(arch, **kwargs)
    return build


def _timm(name: str, sized: bool = False) -> Callable[[Size], nn.Module]:
    """A timm model as a feature extractor; ``sized`` models are built for
    the input size (their patch grid is fixed at construction)."""
    def build(hw: Size) -> nn.Module:
        import timm
        kwargs = dict(img_size=hw) if sized else {}
        return timm.create_model(name, features_only=True, **kwargs)
    return build


def _deit_s(hw: Size) -> nn.Module:
    import timm
    return Features(timm.create_model('deit_small_patch16_224', num_classes=0,
                                      dynamic_img_size=True),
                    'forward_features')


def _mmdet_swin_t(hw: Size) -> nn.Module:
    from mmdet.models.backbones import SwinTransformer
    return SwinTransformer(embed_dims=96, depths=[2, 2, 6, 2],
                           num_heads=[3, 6, 12, 24])


def _fastervit_0(hw: Size) -> nn.Module:
    from fastervit.models.faster_vit_any_res import faster_vit_0_any_res
    return Features(faster_vit_0_any_res(resolution=list(hw)),
                    'forward_features')


def _hivit_t(hw: Size) -> nn.Module:
    from mmpretrain.models.backbones import HiViT
    return HiViT(arch='tiny', img_size=hw)


SWIN_DET = (800, 1344)
MODELS: Dict[str, Spec] = {
    'HIRI-ViT-S': Spec(_hiri('s'), hiri=True, onnx=True),
    # At 448 stage 4 is one 14x14 window: the same model as global.
    'HIRI-ViT-S win14': Spec(_hiri('s', window_sizes=(14, None)), hiri=True,
                             settings=('det', ), onnx=True),
    'HIRI-ViT-B': Spec(_hiri('b'), hiri=True),
    'HIRI-ViT-L': Spec(_hiri('l'), hiri=True),
    'Swin-T': Spec(_timm('swin_tiny_patch4_window7_224', sized=True),
                   size=dict(det=SWIN_DET), onnx=True),
    'PVTv2-B2': Spec(_timm('pvt_v2_b2')),
    'ConvNeXt-T': Spec(_timm('convnext_tiny')),
    'ResNet-50': Spec(_timm('resnet50')),
    'DeiT-S': Spec(_deit_s, settings=('cls', )),
    'MaxViT-T': Spec(_timm('maxvit_tiny_tf_224'), settings=('cls', )),
    'MaxViT-L': Spec(_timm('maxvit_large_tf_224'), settings=('cls', )),
    'Swin-T (mmdet)': Spec(_mmdet_swin_t, needs='mmdet',
                           size=dict(det=SWIN_DET)),
    'FasterViT-0': Spec(_fastervit_0, needs='fastervit'),
    'HiViT-T': Spec(_hivit_t, needs='mmpretrain', settings=('cls', )),
}
DEFAULT_MODELS = ['HIRI-ViT-S', 'HIRI-ViT-S win14', 'HIRI-ViT-B',
                  'HIRI-ViT-L', 'Swin-T', 'PVTv2-B2', 'ConvNeXt-T',
                  'ResNet-50', 'DeiT-S', 'MaxViT-T', 'MaxViT-L',
                  'Swin-T (mmdet)', 'FasterViT-0', 'HiViT-T']
QUICK_MODELS = ['HIRI-ViT-S', 'Swin-T', 'MaxViT-T']
# (HIRI-ViT input, peers' input) per setting; --quick keeps the 2x relation.
SIZES = {
    ('cls', False): ((448, 448), (224, 224)),
    ('cls', True): ((128, 128), (64, 64)),
    ('det', False): ((1600, 2666), (800, 1333)),
    ('det', True): ((256, 448), (128, 224)),
}


def input_size(name: str, setting: str, quick: bool) -> Size:
    spec = MODELS[name]
    if spec.size.get(setting) and not quick:
        return spec.size[setting]
    hiri, peer = SIZES[(setting, quick)]
    return hiri if spec.hiri else peer


def flop_counter() -> str:
    """mmengine's counter (with hiri_mm's attention handle, as in
    tools/analysis/get_flops.py) when mmengine is installed, else torch's
    (convolutions, matrix products and attention only: no norms)."""
    return 'mmengine' if find_spec('mmengine') else 'torch'


def count_gmacs(model: nn.Module, x: torch.Tensor) -> float:
    """Multiply-adds of one forward, in billions."""
    with torch.no_grad():
        if flop_counter() == 'mmengine':
            from hiri_mm.openmmlab.analysis import flop_analyzer
            return flop_analyzer(model, (x, )).total() / 1e9
        with FlopCounterMode(display=False) as counter:
            model(x)
    return counter.get_total_flops() / 2e9


def _outputs_mean(out) -> torch.Tensor:
    """A scalar that depends on every output map."""
    if isinstance(out, torch.Tensor):
        return out.float().mean()
    return sum(o.float().mean() for o in out)


CLOCKS = dict(wall=time.perf_counter, cpu=time.process_time)


def _time(fn: Callable[[], object], warmup: int, min_run_time: float,
          device: torch.device, clock: str = 'wall') -> Tuple[float, float]:
    """(median, inter-quartile range) in seconds of calls of ``fn``,
    repeated until they add up to ``min_run_time`` (at least one call).

    ``clock`` is ``'wall'`` or ``'cpu'`` (the process's CPU time, all
    threads). Plain timing: ``torch.utils.benchmark`` would import
    ``torch.utils.cpp_extension``, which warns about CUDA in every
    subprocess of a machine that has ``nvcc`` but no GPU.
    """
    now = CLOCKS[clock]

    def call() -> float:
        start = now()
        fn()
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        return now() - start

    for _ in range(warmup):
        call()
    times = [call()]
    while sum(times) < min_run_time:
        times.append(call())
    if len(times) == 1:
        return times[0], 0.
    q1, _, q3 = statistics.quantiles(times, n=4)
    return statistics.median(times), q3 - q1


def _peak_mib(device: torch.device) -> Optional[float]:
    if device.type != 'cuda':
        return None
    return torch.cuda.max_memory_allocated(device) / 2**20


def _reset_peak(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def _onnxruntime_latency(model: nn.Module, hw: Size, args
                        ) -> Tuple[float, float]:
    """Batch-1 latency of ``model`` exported to ONNX at ``hw`` (static
    shapes, TorchScript exporter, opset 17) and run by onnxruntime on the
    CPU with the run's threads."""
    from hiri_mm.export import onnx_session
    x = torch.randn(1, 3, *hw)
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'model.onnx')
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            torch.onnx.export(model, (x, ), path, dynamo=False,
                              opset_version=17, input_names=['input'])
        session = onnx_session(path, threads=torch.get_num_threads())
    feed = {'input': x.numpy()}
    return _time(lambda: session.run(None, feed), args.warmup,
                 args.min_run_time, torch.device('cpu'), args.clock)


def measure(name: str, variant: str, setting: str, args,
            report: Callable[[str], None] = lambda line: None,
            count: bool = True) -> dict:
    """One row: params, GMACs (when ``count``) and every requested measure
    of one model; ``report`` gets a line per measure done."""
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    hw = input_size(name, setting, args.quick)
    model = MODELS[name].build(hw).to(device)
    model.eval()
    row = dict(setting=setting, model=name, variant=variant,
               input=f'{hw[0]}x{hw[1]}',
               params_m=sum(p.numel() for p in model.parameters()) / 1e6)
    if count:
        row['gmacs'] = count_gmacs(model, torch.zeros(1, 3, *hw,
                                                      device=device))
        report(f"{row['gmacs']:.2f} GMACs at {row['input']}")
    if 'deploy' in variant:
        model.switch_to_deploy()
    if variant.startswith('onnxruntime'):
        median, iqr = _onnxruntime_latency(model, hw, args)
        row.update(latency_ms=1e3 * median, latency_iqr_ms=1e3 * iqr)
        report(f"latency {row['latency_ms']:.1f} ms")
        return row
    fmt = torch.channels_last if args.channels_last else \
        torch.contiguous_format
    model = model.to(memory_format=fmt)
    run = torch.compile(model) if 'compiled' in variant else model
    infer_dtype = torch.float16 if device.type == 'cuda' else torch.bfloat16

    def images(n: int) -> torch.Tensor:
        return torch.randn(n, 3, *hw, device=device).contiguous(
            memory_format=fmt)

    def infer(x: torch.Tensor) -> Callable[[], object]:
        def fn():
            with torch.inference_mode(), torch.autocast(
                    device.type, infer_dtype, enabled=args.amp):
                return run(x)
        return fn

    if 'throughput' in args.measure:
        _reset_peak(device)
        median, iqr = _time(infer(images(args.batch)), args.warmup,
                            args.min_run_time, device, args.clock)
        row.update(throughput=args.batch / median,
                   throughput_iqr=args.batch * iqr / median**2,
                   infer_peak_mib=_peak_mib(device))
        report(f"throughput {row['throughput']:,.1f} img/s")
    if 'latency' in args.measure:
        median, iqr = _time(infer(images(1)), args.warmup,
                            args.min_run_time, device, args.clock)
        row.update(latency_ms=1e3 * median, latency_iqr_ms=1e3 * iqr)
        report(f"latency {row['latency_ms']:.1f} ms")
    if 'train' in args.measure and 'deploy' not in variant:
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
        x = images(args.train_batch)

        def step():
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device.type, torch.bfloat16,
                                enabled=args.amp):
                loss = _outputs_mean(run(x))
            loss.backward()
            optimizer.step()

        _reset_peak(device)
        median, iqr = _time(step, args.warmup, args.min_run_time, device,
                            args.clock)
        row.update(train_throughput=args.train_batch / median,
                   train_peak_mib=_peak_mib(device))
        report(f"training {row['train_throughput']:,.1f} img/s")
    return row


def _skipped(name: str, variant: str, setting: str, reason: str) -> dict:
    return dict(setting=setting, model=name, variant=variant,
                skipped=reason[:160])


def _child(queue, name: str, variant: str, setting: str, args,
           prefix: Optional[str], count: bool) -> None:
    def report(line: str) -> None:
        if prefix is not None:
            print(f'{prefix} {line}', file=sys.stderr, flush=True)

    try:
        queue.put(measure(name, variant, setting, args, report, count))
    except Exception as e:  # a peer that cannot be built or run here
        queue.put(_skipped(name, variant, setting,
                           f'{type(e).__name__}: {e}'))


def skip_reason(name: str, variant: str, args) -> Optional[str]:
    """Why a row cannot be measured here, before trying it."""
    needs = [MODELS[name].needs]
    if variant.startswith('onnxruntime'):
        if args.device != 'cpu':
            return 'onnxruntime rows run on the CPU: use --device cpu'
        needs.append('onnxruntime')
    for module in needs:
        if module and find_spec(module) is None:
            hint = ' (pip install hiri_mm[deploy])' \
                if module == 'onnxruntime' else ''
            return f'{module} is not installed{hint}'
    return None


def _context() -> mp.context.BaseContext:
    """Subprocesses forked from a server that has imported torch and timm
    once: each starts in a fraction of a second, with its own allocator."""
    ctx = mp.get_context('forkserver')
    ctx.set_forkserver_preload(['torch', 'timm'])
    return ctx


def run_isolated(name: str, variant: str, setting: str, args,
                 prefix: Optional[str] = None, count: bool = True) -> dict:
    """:func:`measure` in a fresh process: peak memory and allocator state
    are the model's own, and a crash cannot take the others down (its row
    is skipped with the exit code)."""
    reason = skip_reason(name, variant, args)
    if reason:
        return _skipped(name, variant, setting, reason)
    ctx = _context()
    queue = ctx.Queue()
    proc = ctx.Process(target=_child,
                       args=(queue, name, variant, setting, args, prefix,
                             count))
    proc.start()
    while True:
        try:
            row = queue.get(timeout=1.)
            break
        except queues.Empty:
            if not proc.is_alive():
                row = _skipped(name, variant, setting,
                               f'the process died (exit code '
                               f'{proc.exitcode}): out of memory?')
                break
    proc.join()
    return row


COLUMNS = ['setting', 'model', 'variant', 'input', 'params_m', 'gmacs',
           'throughput', 'throughput_iqr', 'infer_peak_mib', 'latency_ms',
           'latency_iqr_ms', 'train_throughput', 'train_peak_mib',
           'throughput_vs_swin', 'latency_vs_swin', 'train_vs_swin',
           'skipped']


def median_rows(measured: List[dict], per_round: int) -> List[dict]:
    """Rows of the first round, each number replaced by its median over
    the rounds (``measured`` holds the rounds one after the other)."""
    rounds = [measured[i::per_round] for i in range(per_round)]
    rows = []
    for runs in rounds:
        row = dict(runs[0])
        for key, value in row.items():
            values = [r.get(key) for r in runs]
            if isinstance(value, float) and None not in values:
                row[key] = statistics.median(values)
        rows.append(row)
    return rows


def add_ratios(rows: List[dict]) -> None:
    """Throughput, latency and training speed relative to Swin-T (timm) of
    the same setting and variant (eager/compiled); >1 means faster."""
    swin = {(r['setting'], r['variant'].replace(' deploy', '')): r
            for r in rows if r['model'] == 'Swin-T' and 'skipped' not in r}
    for r in rows:
        ref = swin.get((r['setting'], r['variant'].replace(' deploy', '')))
        if ref is None or 'skipped' in r:
            continue
        for key, out, faster in (('throughput', 'throughput_vs_swin', True),
                                 ('latency_ms', 'latency_vs_swin', False),
                                 ('train_throughput', 'train_vs_swin',
                                  True)):
            if r.get(key) and ref.get(key):
                r[out] = r[key] / ref[key] if faster else ref[key] / r[key]


def _cell(value, fmt: str) -> str:
    return '' if value is None else format(value, fmt)


def markdown(rows: List[dict], header: str) -> str:
    lines = [header, '',
             '| model | variant | input | params (M) | GMACs | img/s | '
             'vs Swin-T | latency ms (IQR) | vs Swin-T | train img/s | '
             'vs Swin-T | peak MiB infer / train |',
             '|---' * 12 + '|']
    for r in rows:
        if 'skipped' in r:
            lines.append(f"| {r['model']} | {r['variant']} | skipped: "
                         f"{r['skipped']} |" + ' |' * 9)
            continue
        latency = '' if r.get('latency_ms') is None else \
            f"{r['latency_ms']:.2f} ({r.get('latency_iqr_ms', 0):.2f})"
        peaks = ' / '.join(_cell(r.get(k), '.0f')
                           for k in ('infer_peak_mib', 'train_peak_mib'))
        lines.append(
            f"| {r['model']} | {r['variant']} | {r['input']} | "
            f"{r['params_m']:.1f} | {_cell(r.get('gmacs'), '.2f')} | "
            f"{_cell(r.get('throughput'), ',.0f')} | "
            f"{_cell(r.get('throughput_vs_swin'), '.2f')} | {latency} | "
            f"{_cell(r.get('latency_vs_swin'), '.2f')} | "
            f"{_cell(r.get('train_throughput'), ',.1f')} | "
            f"{_cell(r.get('train_vs_swin'), '.2f')} | {peaks} |")
    return '\n'.join(lines) + '\n'


def cpu_name() -> str:
    """The CPU's model name (Linux), else the machine type."""
    if osp.isfile('/proc/cpuinfo'):
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    return f'{platform.machine()} CPU'


def environment(args) -> dict:
    import timm
    if args.device == 'cuda':
        device = torch.cuda.get_device_name()
    else:
        device = f'{cpu_name()}, ' \
                 f'{args.threads or torch.get_num_threads()} threads'
    return dict(device=device, flop_counter=flop_counter(),
                torch=torch.__version__,
                timm=timm.__version__, python=platform.python_version(),
                amp=args.amp, channels_last=args.channels_last,
                batch=args.batch, train_batch=args.train_batch,
                quick=args.quick, measure=args.measure, clock=args.clock,
                rounds=args.rounds, argv=sys.argv[1:])


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--setting', nargs='+', choices=['cls', 'det'],
                   default=['cls', 'det'])
    p.add_argument('--models', nargs='+', choices=list(MODELS),
                   help='default: all (with --quick: '
                   f'{", ".join(QUICK_MODELS)})')
    p.add_argument('--measure', nargs='+', default=['throughput', 'latency',
                                                    'train'],
                   choices=['throughput', 'latency', 'train'])
    p.add_argument('--device', default='cuda' if torch.cuda.is_available()
                   else 'cpu', choices=['cpu', 'cuda'])
    p.add_argument('--amp', action='store_true',
                   help='fp16 (CUDA) / bfloat16 (CPU) inference, bfloat16 '
                   'training')
    p.add_argument('--channels-last', action='store_true')
    p.add_argument('--compile', action='store_true',
                   help='also measure torch.compile\'d models')
    p.add_argument('--deploy', action='store_true',
                   help='also measure HIRI-ViT after switch_to_deploy()')
    p.add_argument('--onnxruntime', action='store_true',
                   help='also measure the latency of HIRI-ViT-S (deploy-'
                   'folded; also win14) and Swin-T exported to ONNX, with '
                   'onnxruntime (CPU)')
    p.add_argument('--batch', type=int, help='throughput batch size')
    p.add_argument('--train-batch', type=int)
    p.add_argument('--quick', action='store_true',
                   help='small inputs (same 2x relation), short timing and '
                   'three models, for tests')
    p.add_argument('--warmup', type=int,
                   help='untimed calls first (default 3; --quick 1)')
    p.add_argument('--min-run-time', type=float,
                   help='seconds of timed calls per measure (default 1; '
                   '--quick 0.05)')
    p.add_argument('--rounds', type=int, default=1,
                   help='measure every row this many times, interleaved, '
                   'and keep the medians')
    p.add_argument('--threads', type=int,
                   help='torch threads (default: torch\'s; --quick 1)')
    p.add_argument('--clock', choices=list(CLOCKS), default='wall',
                   help='cpu: time calls by the process\'s CPU time (all '
                   'threads), which other load on a shared machine barely '
                   'changes with --threads 1 (with more threads it also '
                   'counts threads waiting for each other)')
    p.add_argument('--out-dir', default='work_dirs/benchmark')
    p.add_argument('--progress', action='store_true',
                   help='progress lines on stderr even when it is not a '
                   'terminal')
    args = p.parse_args(argv)
    cuda = args.device == 'cuda'
    if cuda and not torch.cuda.is_available():
        p.error('--device cuda: no CUDA device is visible')
    args.models = args.models or (QUICK_MODELS if args.quick else
                                  DEFAULT_MODELS)
    if args.warmup is None:
        args.warmup = 1 if args.quick else 3
    if args.min_run_time is None:
        args.min_run_time = 0.05 if args.quick else 1.
    if args.threads is None:
        args.threads = 1 if args.quick else 0
    args.batch = args.batch or (128 if cuda else 2 if args.quick else 8)
    args.train_batch = args.train_batch or (64 if cuda else
                                            2 if args.quick else 4)
    args.progress = args.progress or sys.stderr.isatty()
    return args


def jobs(args) -> List[Tuple[str, str, str]]:
    """(model, variant, setting) of every row to measure."""
    variants = ['eager'] + (['compiled'] if args.compile else [])
    out = []
    for setting in args.setting:
        for name in args.models:
            if setting not in MODELS[name].settings:
                continue
            for variant in variants:
                out.append((name, variant, setting))
                if args.deploy and MODELS[name].hiri:
                    out.append((name, f'{variant} deploy', setting))
            if args.onnxruntime and MODELS[name].onnx:
                deploy = ' deploy' if MODELS[name].hiri else ''
                out.append((name, f'onnxruntime{deploy}', setting))
    return out


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    return f'{minutes}m{seconds:02d}s' if minutes else f'{seconds}s'


def measure_all(todo: List[Tuple[str, str, str]], args) -> List[dict]:
    """:func:`run_isolated` of every job (``todo`` is ``args.rounds``
    rounds; GMACs are counted in the first only); with ``args.progress`` a
    line per model and measure on stderr, with the estimated time left."""
    per_round = len(todo) // args.rounds
    start = time.perf_counter()
    rows = []
    for i, (name, variant, setting) in enumerate(todo):
        elapsed = time.perf_counter() - start
        eta = '' if not i else \
            f', about {_duration(elapsed / i * (len(todo) - i))} left'
        prefix = f'[{i + 1}/{len(todo)}{eta}] {name} {variant} ({setting}):'
        row = run_isolated(name, variant, setting, args,
                           prefix if args.progress else None,
                           count=i < per_round)
        if args.progress and 'skipped' in row:
            print(f"{prefix} skipped: {row['skipped']}", file=sys.stderr,
                  flush=True)
        rows.append(row)
    return rows


def main(argv=None) -> List[dict]:
    args = parse_args(argv)
    os.makedirs(args.out_dir, exist_ok=True)
    env = environment(args)
    with open(osp.join(args.out_dir, 'env.json'), 'w') as f:
        json.dump(env, f, indent=2)
    todo = jobs(args) * args.rounds
    rows = median_rows(measure_all(todo, args), len(todo) // args.rounds)
    add_ratios(rows)
    header = (f"{env['device']}; torch {env['torch']}, timm {env['timm']}, "
              f"{env['flop_counter']} FLOP counter; "
              f"AMP {'on' if args.amp else 'off'}, channels_last "
              f"{'on' if args.channels_last else 'off'}; throughput batch "
              f"{args.batch}, training batch {args.train_batch}; "
              f"{args.clock} clock, median of {args.rounds} round(s)")
    for setting in args.setting:
        part = [r for r in rows if r['setting'] == setting]
        name = setting + ('_quick' if args.quick else '')
        with open(osp.join(args.out_dir, f'{name}.csv'), 'w',
                  newline='') as f:
            writer = csv.DictWriter(f, COLUMNS)
            writer.writeheader()
            writer.writerows(part)
        hiri, peer = SIZES[(setting, args.quick)]
        text = markdown(part, f'**{setting}** (HIRI-ViT at {hiri[0]}x'
                        f'{hiri[1]}, peers at {peer[0]}x{peer[1]}): '
                        f'{header}')
        with open(osp.join(args.out_dir, f'{name}.md'), 'w') as f:
            f.write(text)
        print(text)
    return rows


if __name__ == '__main__':
    main()
