"""Pretrained loading of HIRIViT weights, the weights-only allow-list for
checkpoints saved by mmengine Runners, and the check of a checkpoint's
weights against the model they are for."""
import pickle

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

from hiri_mm.errors import CheckpointMismatchError
from hiri_mm.openmmlab import HIRIViT
from hiri_mm.openmmlab.checkpoint import check_weights
from tests.helpers import TINY_ARCH


class _Classifier(BaseModel):
    """A backbone + linear head, trained by a Runner to save a checkpoint."""

    def __init__(self, arch):
        super().__init__()
        self.backbone = HIRIViT(arch=arch)
        self.head = nn.Linear(arch['channels'][-1], 2)

    def forward(self, inputs, labels, mode='loss'):
        logits = self.head(self.backbone(inputs)[-1].mean((2, 3)))
        if mode == 'loss':
            return dict(loss=nn.functional.cross_entropy(logits, labels))
        return logits


class _Noise(Dataset):

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return torch.randn(3, 64, 64), i % 2


def _pairs(inputs_labels):
    inputs, labels = zip(*inputs_labels)
    return dict(inputs=torch.stack(inputs), labels=torch.tensor(labels))


@pytest.fixture(scope='module')
def runner_checkpoint(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('runner')
    runner = Runner(
        model=_Classifier(TINY_ARCH),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=_Noise(), batch_size=2, collate_fn=_pairs,
            sampler=dict(type='DefaultSampler', shuffle=False)),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-3)),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
        default_scope='mmdet')
    runner.train()
    return work_dir / 'epoch_1.pth', runner.model.backbone.state_dict()


def test_runner_checkpoint_loads_with_weights_only(runner_checkpoint):
    path, _ = runner_checkpoint
    ckpt = torch.load(path, weights_only=True)
    assert 'message_hub' in ckpt and 'state_dict' in ckpt


def test_pretrained_init_cfg_loads_backbone_from_runner_checkpoint(
        runner_checkpoint, tiny_arch):
    path, expected = runner_checkpoint
    model = HIRIViT(arch=tiny_arch, init_cfg=dict(
        type='Pretrained', checkpoint=str(path), prefix='backbone.'))
    model.init_weights()
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, expected[key], msg=key)


def test_pretrained_init_cfg_loads_plain_state_dict(tmp_path, tiny_arch):
    source = HIRIViT(arch=tiny_arch)
    source.init_weights()
    path = tmp_path / 'detector.pth'
    torch.save({'state_dict': {f'backbone.{k}': v
                               for k, v in source.state_dict().items()}},
               path)
    model = HIRIViT(arch=tiny_arch, init_cfg=dict(
        type='Pretrained', checkpoint=str(path), prefix='backbone.'))
    model.init_weights()
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, source.state_dict()[key])


def test_missing_checkpoint_file_is_named(tmp_path, tiny_arch):
    missing = tmp_path / 'nowhere.pth'
    model = HIRIViT(arch=tiny_arch, init_cfg=dict(
        type='Pretrained', checkpoint=str(missing)))
    with pytest.raises(FileNotFoundError, match='nowhere.pth'):
        model.init_weights()


class _RunsCode:

    def __reduce__(self):
        return (print, ('pwned', ))


def test_allow_list_still_refuses_code_and_other_getattr(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'x': _RunsCode()}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)

    class _GetattrEscape:

        def __reduce__(self):
            return (getattr, (torch.Tensor, 'numpy'))

    torch.save({'x': _GetattrEscape()}, path)
    with pytest.raises(pickle.UnpicklingError, match='Refusing getattr'):
        torch.load(path, weights_only=True)


class _Pair(nn.Module):

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(2, 3)
        self.b = nn.BatchNorm1d(3)


def test_weights_that_fit_pass_the_check():
    model = _Pair()
    problems = check_weights(model, model.state_dict(), 'x.pth')
    assert problems == {'missing': [], 'unexpected': [], 'mis-shaped': [],
                        'non-finite': []}


@pytest.mark.parametrize('case, text', [
    ('empty', r'missing \(7\): a.weight, a.bias, b.weight, b.bias, '
              r'b.running_mean \.\.\.'),
    ('unrelated', r'unexpected \(1\): head.weight'),
    ('mis-shaped', r'mis-shaped \(1\): a.weight: \(3, 3\) in the file, '
                   r'\(3, 2\) in the model'),
    ('nan', r'non-finite \(1\): b.running_var'),
])
def test_weights_that_do_not_fit_are_named(case, text):
    model = _Pair()
    state = dict(model.state_dict())
    if case == 'empty':
        state = {}
    elif case == 'unrelated':
        state['head.weight'] = torch.ones(1)
    elif case == 'mis-shaped':
        state['a.weight'] = torch.ones(3, 3)
    else:
        state['b.running_var'] = torch.tensor([1., float('nan'), 1.])
    with pytest.raises(CheckpointMismatchError, match=f'(?s)x.pth does not '
                       f'hold the weights of this _Pair.*{text}.*'
                       '--allow-partial-checkpoint'):
        check_weights(model, state, 'x.pth')


def test_partial_weights_pass_when_allowed_but_never_non_finite():
    model = _Pair()
    state = {k: v for k, v in model.state_dict().items() if k != 'a.bias'}
    state['extra'] = torch.ones(1)
    problems = check_weights(model, state, 'x.pth', allow_partial=True)
    assert (problems['missing'], problems['unexpected']) == (['a.bias'],
                                                            ['extra'])
    state['a.weight'] = torch.full((3, 2), float('inf'))
    with pytest.raises(CheckpointMismatchError, match='non-finite'):
        check_weights(model, state, 'x.pth', allow_partial=True)
