"""ImageNet-style pretraining of HIRI-ViT with EMA distillation.

Defaults follow the paper: input 448, AdamW, lr 1e-3 at batch 1024 (scaled
linearly with the total batch), weight decay 0.05, 300 epochs of cosine
decay after 5 warm-up epochs, RandAugment, Mixup/CutMix, Random Erasing,
and EMA distillation (hiri_mm.ema_distillation).

    python tools/pretrain.py /data/imagenet --work-dir work_dirs/hiri_s_in1k
    python -m torch.distributed.run --nproc_per_node 8 tools/pretrain.py \
        /data/imagenet --work-dir work_dirs/hiri_s_in1k
    python tools/pretrain.py /data/imagenet --work-dir ... --resume

DATA holds ``train/<class>/*`` and ``val/<class>/*`` (torchvision
ImageFolder). Checkpoints: ``<work-dir>/last.pth`` every epoch (written
atomically) and ``epoch_<n>.pth`` every ``--save-interval`` epochs; hand
either to tools/convert_checkpoint.py for detection/segmentation.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

import torch
import torch.distributed as dist
import torch.nn as nn
from timm.data import Mixup, create_transform, resolve_data_config
from timm.loss import LabelSmoothingCrossEntropy, SoftTargetCrossEntropy
from timm.optim import create_optimizer_v2
from timm.scheduler import CosineLRScheduler
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler
from torchvision.datasets import ImageFolder

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import timm  # noqa: E402
import hiri_mm  # noqa: E402,F401  (registers hiri_vit_* in timm)
from hiri_mm.openmmlab.checkpoint import load_checkpoint_file  # noqa: E402
from hiri_mm.ema_distillation import EMADistillation  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('data', help='folder with train/ and val/ ImageFolders')
    p.add_argument('--work-dir', required=True)
    p.add_argument('--model', default='hiri_vit_s')
    p.add_argument('--arch', type=json.loads,
                   help='custom HIRIViT arch as JSON (overrides the size)')
    p.add_argument('--input-size', type=int, default=448)
    p.add_argument('--epochs', type=int, default=300)
    p.add_argument('--warmup-epochs', type=int, default=5)
    p.add_argument('--batch-size', type=int, default=128,
                   help='images per process')
    p.add_argument('--lr-base', type=float, default=1e-3,
                   help='learning rate at a total batch of 1024')
    p.add_argument('--weight-decay', type=float, default=0.05)
    p.add_argument('--drop-path', type=float, default=0.1)
    p.add_argument('--crop-scale-min', type=float, default=0.08,
                   help='smallest area fraction of RandomResizedCrop')
    p.add_argument('--aa', default='rand-m9-mstd0.5-inc1',
                   help="RandAugment policy, 'none' to disable")
    p.add_argument('--reprob', type=float, default=0.25,
                   help='Random Erasing probability')
    p.add_argument('--mixup', type=float, default=0.8)
    p.add_argument('--cutmix', type=float, default=1.0)
    p.add_argument('--smoothing', type=float, default=0.1)
    p.add_argument('--ema-decay', type=float, default=0.9998)
    p.add_argument('--distill-weight', type=float, default=1.0)
    p.add_argument('--distill-temperature', type=float, default=1.0)
    p.add_argument('--workers', type=int, default=8)
    p.add_argument('--save-interval', type=int, default=10)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--resume', nargs='?', const='auto',
                   help='checkpoint to resume; without a path, '
                   '<work-dir>/last.pth')
    return p.parse_args(argv)


def _loaders(args, model, distributed):
    data_cfg = resolve_data_config(
        dict(input_size=(3, args.input_size, args.input_size)), model=model)
    train_tf = create_transform(
        **data_cfg, is_training=True,
        auto_augment=None if args.aa == 'none' else args.aa,
        re_prob=args.reprob, scale=(args.crop_scale_min, 1.0))
    val_tf = create_transform(**data_cfg, is_training=False)
    train_set = ImageFolder(osp.join(args.data, 'train'), train_tf)
    val_set = ImageFolder(osp.join(args.data, 'val'), val_tf)
    if train_set.classes != val_set.classes:
        raise SystemExit('train/ and val/ must hold the same class folders')
    sampler = DistributedSampler(train_set, seed=args.seed) \
        if distributed else None
    train = DataLoader(train_set, args.batch_size, shuffle=sampler is None,
                       sampler=sampler, num_workers=args.workers,
                       drop_last=len(train_set) > args.batch_size)
    val = DataLoader(val_set, args.batch_size, num_workers=args.workers)
    return train, val, len(train_set.classes)


@torch.no_grad()
def evaluate(model: nn.Module, loader: DataLoader, device) -> float:
    """Top-1 accuracy (%) of ``model`` on ``loader``."""
    model.eval()
    correct = total = 0
    for images, target in loader:
        logits = model(images.to(device))
        correct += (logits.argmax(-1).cpu() == target).sum().item()
        total += target.numel()
    return 100. * correct / max(total, 1)


def _save(state: dict, path: str) -> None:
    """Write a checkpoint atomically, so a crash never leaves a torn file."""
    tmp = f'{path}.tmp'
    torch.save(state, tmp)
    os.replace(tmp, path)


def main(argv=None) -> dict:
    args = parse_args(argv)
    distributed = int(os.environ.get('WORLD_SIZE', 1)) > 1
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    if distributed:
        dist.init_process_group('nccl' if device.type == 'cuda' else 'gloo')
        if device.type == 'cuda':
            device = torch.device('cuda', int(os.environ['LOCAL_RANK']))
            torch.cuda.set_device(device)
    rank = dist.get_rank() if distributed else 0
    world = dist.get_world_size() if distributed else 1
    torch.manual_seed(args.seed + rank)
    os.makedirs(args.work_dir, exist_ok=True)

    probe = timm.create_model(args.model, num_classes=0,
                              **({'arch': args.arch} if args.arch else {}))
    train_loader, val_loader, num_classes = _loaders(args, probe,
                                                     distributed)
    model_kwargs = dict(num_classes=num_classes,
                        drop_path_rate=args.drop_path)
    if args.arch:
        model_kwargs['arch'] = args.arch
    student = timm.create_model(args.model, **model_kwargs).to(device)

    mixup = None
    if args.mixup > 0 or args.cutmix > 0:
        mixup = Mixup(mixup_alpha=args.mixup, cutmix_alpha=args.cutmix,
                      label_smoothing=args.smoothing,
                      num_classes=num_classes)
        criterion = SoftTargetCrossEntropy()
    else:
        criterion = LabelSmoothingCrossEntropy(args.smoothing)
    distiller = EMADistillation(student, criterion, decay=args.ema_decay,
                                weight=args.distill_weight,
                                temperature=args.distill_temperature)
    lr = args.lr_base * args.batch_size * world / 1024
    optimizer = create_optimizer_v2(student, 'adamw', lr=lr,
                                    weight_decay=args.weight_decay)
    scheduler = CosineLRScheduler(
        optimizer, t_initial=args.epochs, warmup_t=args.warmup_epochs,
        warmup_lr_init=lr * 1e-3, lr_min=lr * 1e-2)

    start_epoch, step = 0, 0
    resume = osp.join(args.work_dir, 'last.pth') if args.resume == 'auto' \
        else args.resume
    if resume:
        ckpt = load_checkpoint_file(resume, map_location='cpu')
        student.load_state_dict(ckpt['state_dict'])
        distiller.teacher.module.load_state_dict(ckpt['teacher'])
        optimizer.load_state_dict(ckpt['optimizer'])
        start_epoch, step = ckpt['epoch'], ckpt['step']
    if distributed:
        distiller.student = DistributedDataParallel(
            student, device_ids=[device.index] if device.type == 'cuda'
            else None)

    log_path = osp.join(args.work_dir, 'log.jsonl')
    record = {}
    for epoch in range(start_epoch, args.epochs):
        scheduler.step(epoch)
        if distributed:
            train_loader.sampler.set_epoch(epoch)
        distiller.student.train()
        sums = dict(loss=0., loss_cls=0., loss_distill=0.)
        start = time.time()
        for images, target in train_loader:
            images, target = images.to(device), target.to(device)
            if mixup is not None:
                images, target = mixup(images, target)
            losses = distiller(images, target)
            optimizer.zero_grad(set_to_none=True)
            losses['loss'].backward()
            optimizer.step()
            step += 1
            distiller.teacher.update(student, step=step)
            for key in sums:
                sums[key] += losses[key].item()
        n = max(len(train_loader), 1)
        record = dict(epoch=epoch + 1, step=step,
                      lr=optimizer.param_groups[0]['lr'],
                      time=round(time.time() - start, 1),
                      **{k: v / n for k, v in sums.items()},
                      val_top1=evaluate(student, val_loader, device),
                      val_top1_teacher=evaluate(distiller.teacher.module,
                                                val_loader, device))
        if rank == 0:
            print(json.dumps(record), flush=True)
            with open(log_path, 'a') as f:
                f.write(json.dumps(record) + '\n')
            state = dict(state_dict=student.state_dict(),
                         teacher=distiller.teacher.module.state_dict(),
                         optimizer=optimizer.state_dict(), epoch=epoch + 1,
                         step=step, model=args.model, arch=args.arch,
                         num_classes=num_classes)
            _save(state, osp.join(args.work_dir, 'last.pth'))
            if (epoch + 1) % args.save_interval == 0 or \
                    epoch + 1 == args.epochs:
                _save(state, osp.join(args.work_dir, f'epoch_{epoch + 1}.pth'))
    if distributed:
        dist.destroy_process_group()
    return record


if __name__ == '__main__':
    main()
