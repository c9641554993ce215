"""Every checkpoint source loads with ``weights_only=True``: a pickle that
would run code is refused, naming its source, behind every URL scheme of
mmengine's CheckpointLoader and through every consumer (config fields,
inference APIs, tools); downloads still land in torch's hub cache; loading
leaves no trace in HistoryBuffer's class-level state. All offline: http(s)
sources are served from the hub cache or from a server on 127.0.0.1; pavi
and petrel (s3) clients are replaced by fakes that hand over the bytes the
way the real clients' APIs do, so what is tested is our loader's handling
of those bytes, not the services."""
import functools
import http.server
import os.path as osp
import pickle
import re
import shutil
import sys
import threading
import types

import pytest
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner import CheckpointLoader
from mmengine.runner.checkpoint import (get_external_models,
                                        get_mmcls_models,
                                        get_torchvision_models)

from hiri_mm.errors import EmbeddedConfigError
from hiri_mm.openmmlab import HIRIViT
from hiri_mm.openmmlab.safety import (SAFE_SCHEMES, hub_cache_file,
                                      load_checkpoint, parse_config_text,
                                      unsafe_schemes)
from tests.helpers import (DET_DEMO, SEG_DEMO, MakesDir, det_options,
                           seg_options)

# mmengine's model tables: an entry of each (any entry would do).
TORCHVISION = 'resnet18'
OPENMMLAB = 'vgg16_caffe'
MMCLS = 'vgg11'


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / 'code_ran'
    yield str(path)
    assert not path.exists(), 'a checkpoint executed code'


@pytest.fixture
def payload(tmp_path, marker):
    """A checkpoint that runs os.mkdir(marker) when unpickled unsafely."""
    path = tmp_path / 'payload.pth'
    torch.save({'state_dict': {'backbone.x': torch.ones(1)},
                'meta': MakesDir(marker)}, path)
    return str(path)


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """An empty torch hub cache ($TORCH_HOME/hub/checkpoints) and mmengine
    home ($MMENGINE_HOME) for this test."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setenv('MMENGINE_HOME', str(tmp_path / 'mmengine_home'))
    cache = tmp_path / 'torch_home' / 'hub' / 'checkpoints'
    cache.mkdir(parents=True)
    return cache


def _seed(hub, url, checkpoint):
    """Put ``checkpoint`` in the hub cache where ``url`` is cached."""
    shutil.copy(checkpoint, hub_cache_file(url, str(hub)))


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/served/."""
    folder = tmp_path / 'served'
    folder.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                                directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield folder, f'http://127.0.0.1:{httpd.server_address[1]}'
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def fake_pavi(monkeypatch):
    """pavi's model cloud as mmengine's pavi loader uses it:
    ``modelcloud.get(path)`` gives a model with ``name`` and
    ``download(dst)``; here it copies the file registered for ``path``."""
    files = {}

    class _Model:

        def __init__(self, path):
            self.name, self._src = osp.basename(path), files[path]

        def download(self, dst):
            shutil.copy(self._src, dst)

    modelcloud = types.ModuleType('pavi.modelcloud')
    modelcloud.get = _Model
    pavi = types.ModuleType('pavi')
    pavi.modelcloud = modelcloud
    monkeypatch.setitem(sys.modules, 'pavi', pavi)
    monkeypatch.setitem(sys.modules, 'pavi.modelcloud', modelcloud)
    return files


@pytest.fixture
def fake_petrel(monkeypatch):
    """petrel_client as mmengine's PetrelBackend uses it:
    ``client.Client(...).Get(url)`` returns the object's bytes."""
    objects = {}

    class _Client:

        def __init__(self, *args, **kwargs):
            pass

        def Get(self, url):  # noqa: N802 (petrel's name)
            with open(objects[url], 'rb') as f:
                return f.read()

    client = types.ModuleType('petrel_client.client')
    client.Client = _Client
    petrel = types.ModuleType('petrel_client')
    petrel.client = client
    monkeypatch.setitem(sys.modules, 'petrel_client', petrel)
    monkeypatch.setitem(sys.modules, 'petrel_client.client', client)
    return objects


def _place(source, checkpoint, hub, fake_pavi, fake_petrel):
    """Make ``checkpoint`` what ``source`` resolves to, offline."""
    scheme, _, name = source.partition('://')
    if scheme in ('http', 'https'):
        _seed(hub, source, checkpoint)
    elif scheme in ('torchvision', 'modelzoo'):
        _seed(hub, get_torchvision_models()[name], checkpoint)
    elif scheme in ('open-mmlab', 'openmmlab'):
        _seed(hub, get_external_models()[name], checkpoint)
    elif scheme == 'mmcls':
        _seed(hub, get_mmcls_models()[name], checkpoint)
    elif scheme == 'pavi':
        fake_pavi[name] = checkpoint
    else:  # s3, petrel, <cluster>:s3
        fake_petrel[source.replace('petrel://', 's3://')] = checkpoint


# One source per scheme mmengine registers (s3 also with a cluster name).
SOURCES = [
    'https://example.invalid/models/payload.pth',
    'http://example.invalid/payload.pth',
    f'torchvision://{TORCHVISION}',
    f'modelzoo://{TORCHVISION}',
    f'open-mmlab://{OPENMMLAB}',
    f'openmmlab://{OPENMMLAB}',
    f'mmcls://{MMCLS}',
    'pavi://project/payload.pth',
    's3://bucket/payload.pth',
    'petrel://bucket/payload.pth',
    'cluster1:s3://bucket/payload.pth',
]


def test_every_registered_scheme_has_a_safe_loader():
    assert set(CheckpointLoader._schemes) == set(SAFE_SCHEMES)
    assert unsafe_schemes() == {}
    assert {CheckpointLoader._get_checkpoint_loader(s) for s in SOURCES} \
        == set(SAFE_SCHEMES.values()) - {SAFE_SCHEMES['']}


@pytest.mark.parametrize('source', SOURCES)
def test_payload_behind_every_scheme_is_refused(source, payload, hub,
                                                fake_pavi, fake_petrel):
    _place(source, payload, hub, fake_pavi, fake_petrel)
    with pytest.raises(pickle.UnpicklingError,
                       match=f'Refusing to load {re.escape(source)}'):
        load_checkpoint(source)


def test_payload_in_mmengine_home_is_refused(payload, hub, marker):
    """open-mmlab:// names may point at a file under $MMENGINE_HOME."""
    home = hub.parent.parent.parent / 'mmengine_home'
    home.mkdir(exist_ok=True)
    (home / 'open_mmlab.json').write_text('{"mine": "mine.pth"}')
    shutil.copy(payload, home / 'mine.pth')
    with pytest.raises(pickle.UnpicklingError, match='mine.pth'):
        load_checkpoint('open-mmlab://mine')


def test_downloaded_payload_is_refused_and_cached(payload, hub, server):
    folder, base = server
    shutil.copy(payload, folder / 'fresh.pth')
    with pytest.raises(pickle.UnpicklingError,
                       match=r'fresh\.pth \(local copy: .*fresh\.pth\)'):
        load_checkpoint(f'{base}/fresh.pth')
    # Downloaded into the hub cache.
    assert osp.isfile(hub_cache_file(f'{base}/fresh.pth', str(hub)))


def test_safe_checkpoint_downloads_into_hub_cache(hub, server, tmp_path):
    folder, base = server
    weights = {'state_dict': {'w': torch.arange(3.)}}
    torch.save(weights, folder / 'good.pth')
    loaded = load_checkpoint(f'{base}/good.pth')
    assert torch.equal(loaded['state_dict']['w'], torch.arange(3.))
    assert osp.isfile(hub_cache_file(f'{base}/good.pth', str(hub)))
    (folder / 'good.pth').unlink()  # now served from the cache
    assert torch.equal(load_checkpoint(f'{base}/good.pth')['state_dict']['w'],
                       torch.arange(3.))


@pytest.mark.parametrize('source', SOURCES)
def test_safe_checkpoint_loads_from_every_scheme(source, hub, fake_pavi,
                                                 fake_petrel, tmp_path):
    path = str(tmp_path / 'good.pth')
    torch.save({'state_dict': {'backbone.w': torch.ones(2)}}, path)
    _place(source, path, hub, fake_pavi, fake_petrel)
    state = load_checkpoint(source)['state_dict']
    # mmcls:// keeps the backbone's weights without the prefix (mmengine's
    # rule); every other scheme returns the file as saved.
    key = 'w' if source.startswith('mmcls://') else 'backbone.w'
    assert torch.equal(state[key], torch.ones(2))


def test_corrupt_download_names_the_cached_copy(hub, tmp_path):
    url = 'https://example.invalid/broken.pth'
    with open(hub_cache_file(url, str(hub)), 'wb') as f:
        f.write(b'not a checkpoint')
    with pytest.raises(RuntimeError, match=r'broken\.pth.*Delete .*broken'
                       r'\.pth to download it again'):
        load_checkpoint(url)


def test_unknown_model_name_is_named(hub):
    with pytest.raises(KeyError, match='torchvision://no_such_net'):
        load_checkpoint('torchvision://no_such_net')


URL = 'https://example.invalid/hostile.pth'


def _consumers(tiny_arch, coco_shapes, ade_shapes, work_dir):
    """Every consumer of a checkpoint path, as name -> callable(url)."""
    from mmdet.apis import DetInferencer, init_detector
    from mmseg.apis import MMSegInferencer, init_model

    from hiri_mm.openmmlab.cli import config_for, test, train

    def pretrained(url):
        HIRIViT(tiny_arch, init_cfg=dict(type='Pretrained',
                                         checkpoint=url)).init_weights()

    def train_tool(flag):
        def run(url):
            resume = ['--resume', url] if flag == '--resume' else []
            load_from = [f'load_from={url}'] if flag == 'load_from' else []
            train([DET_DEMO, '--work-dir', work_dir, *resume,
                   '--cfg-options', *det_options(coco_shapes, 1),
                   *load_from])
        return run

    def init_cfg(url):
        train([SEG_DEMO, '--work-dir', work_dir, '--cfg-options',
               *seg_options(ade_shapes, 4),
               'model.backbone.init_cfg.type=Pretrained',
               f'model.backbone.init_cfg.checkpoint={url}'])

    def test_tool(url):
        cfg = config_for(DET_DEMO, work_dir)
        cfg.merge_from_dict(dict(
            test_dataloader=dict(dataset=dict(data_root=coco_shapes + '/')),
            test_evaluator=dict(ann_file=coco_shapes +
                                '/annotations/instances_val2017.json')))
        test(cfg, url)

    return {
        'Pretrained': pretrained,
        'load_from': train_tool('load_from'),
        '--resume': train_tool('--resume'),
        'init_cfg option': init_cfg,
        'test tool': test_tool,
        'init_detector': lambda u: init_detector(DET_DEMO, u, device='cpu'),
        'init_model': lambda u: init_model(SEG_DEMO, u, device='cpu'),
        'DetInferencer': lambda u: DetInferencer(DET_DEMO, u, device='cpu'),
        'MMSegInferencer': lambda u: MMSegInferencer(SEG_DEMO, u,
                                                     device='cpu'),
    }


@pytest.mark.parametrize('consumer', [
    'Pretrained', *(pytest.param(c, marks=pytest.mark.slow)
                    for c in ('load_from', '--resume', 'init_cfg option',
                              'test tool')),
    'init_detector', 'init_model', 'DetInferencer', 'MMSegInferencer'])
def test_url_payload_is_refused_by_every_consumer(consumer, payload, hub,
                                                  tiny_arch, coco_shapes,
                                                  ade_shapes, tmp_path):
    _seed(hub, URL, payload)
    load = _consumers(tiny_arch, coco_shapes, ade_shapes,
                      str(tmp_path / 'work'))[consumer]
    with pytest.raises(pickle.UnpicklingError, match=re.escape(URL)):
        load(URL)


def _runner_checkpoint(work_dir):
    """A real Runner checkpoint (message hub with HistoryBuffers)."""
    import torch.nn as nn
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Linear(BaseModel):

        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 1)

        def forward(self, inputs, mode='loss'):
            return dict(loss=self.fc(inputs).pow(2).mean())

    Runner(model=Linear(), work_dir=work_dir,
           train_dataloader=dict(
               dataset=[torch.ones(2)] * 2, batch_size=1,
               collate_fn=lambda b: dict(inputs=torch.stack(b)),
               sampler=dict(type='DefaultSampler', shuffle=False)),
           optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
           train_cfg=dict(by_epoch=True, max_epochs=1)).train()
    return osp.join(work_dir, 'epoch_1.pth')


def test_loading_leaves_no_trace_in_history_buffer_class(
        tmp_path, monkeypatch):
    """A checkpoint whose buffer pickles ``{'mean': HistoryBuffer.max}``
    would rebind ``mean`` for every buffer with mmengine's __setstate__."""
    path = _runner_checkpoint(str(tmp_path))
    checkpoint = load_checkpoint(path)
    before = dict(HistoryBuffer._statistics_methods)

    def rebinding_getstate(self):
        return dict(self.__dict__, statistics_methods=dict(
            HistoryBuffer._statistics_methods, mean=HistoryBuffer.max))

    with monkeypatch.context() as patch:
        patch.setattr(HistoryBuffer, '__getstate__', rebinding_getstate)
        torch.save(checkpoint, tmp_path / 'rebinding.pth')
    loaded = load_checkpoint(str(tmp_path / 'rebinding.pth'))
    loaded_again = load_checkpoint(path)

    assert HistoryBuffer._statistics_methods == before
    fresh = HistoryBuffer([1., 2., 3.], [1, 1, 1])
    assert fresh.mean() == fresh.statistics('mean') == 2.
    for buffers in (loaded, loaded_again):
        loss = buffers['message_hub']['log_scalars']['train/loss']
        assert type(loss) is HistoryBuffer
        assert 'statistics_methods' not in vars(loss)
        assert loss.statistics('mean') == loss.mean()


def test_refusal_gives_the_safe_ways_not_torchs_advice(payload):
    with pytest.raises(pickle.UnpicklingError) as error:
        load_checkpoint(payload)
    message = str(error.value)
    assert 'GLOBAL posix.mkdir' in message
    assert 'weights_only` set to `False' not in message
    assert 'weights_only=False' not in message
    assert 'torch.serialization.add_safe_globals' in message
    assert "torch.save({'state_dict': model.state_dict()}, path)" in message


def test_same_file_name_at_two_urls_is_cached_twice(hub, server):
    folder, base = server
    for sub, value in (('a', 1.), ('b', 2.)):
        (folder / sub).mkdir()
        torch.save({'state_dict': {'w': torch.tensor(value)}},
                   folder / sub / 'weights.pth')
    first = load_checkpoint(f'{base}/a/weights.pth')['state_dict']['w']
    second = load_checkpoint(f'{base}/b/weights.pth')['state_dict']['w']
    assert (first.item(), second.item()) == (1., 2.)
    assert sorted(p.name for p in hub.iterdir()) == sorted(
        osp.basename(hub_cache_file(f'{base}/{sub}/weights.pth'))
        for sub in 'ab')


# ---------------------------------------------------------------------------
# The config text a checkpoint stores is read as data, never run.

@pytest.fixture
def config_payload(tmp_path, marker):
    """A checkpoint that the weights-only unpickler accepts (strings and
    numbers only) whose stored config text would create ``marker`` if it
    were executed, where mmengine keeps config text: ``meta['config']``,
    ``meta['cfg']`` and the message hub's ``runtime_info['cfg']``."""
    text = f"open({marker!r}, 'a').close()"
    path = tmp_path / 'epoch_1.pth'
    torch.save({'state_dict': {}, 'meta': {'config': text, 'cfg': text,
                                           'epoch': 1, 'iter': 2},
                'message_hub': {'log_scalars': {}, 'resumed_keys': {},
                                'runtime_info': {'cfg': text}}}, path)
    return str(path)


def test_config_text_is_parsed_as_data():
    from mmengine.config import Config
    for config in (DET_DEMO, SEG_DEMO):
        text = Config.fromfile(config).pretty_text
        # Running our own file's text is safe; it is the reference here.
        assert parse_config_text(text) == Config.fromstring(
            text, '.py').to_dict()
    assert parse_config_text("a = dict(b=[1, -2.5, (None, True)])\n"
                             "c = {'d e': 'f'}") == dict(
        a=dict(b=[1, -2.5, (None, True)]), c={'d e': 'f'})


@pytest.mark.parametrize('text', [
    "open('x', 'w')", "a = open('x')", "import os", "a = b",
    "a = dict(**b)", "a = ().__class__", "a = [1, 2][0]", "a = -'x'",
    "a, b = 1, 2", "def f(): pass", "a = ("])
def test_config_text_with_code_is_refused(text):
    with pytest.raises(ValueError, match='plain data|not Python'):
        parse_config_text(text)


@pytest.mark.parametrize('inferencer', ['DetInferencer', 'MMSegInferencer'])
def test_inferencer_without_config_never_runs_the_stored_config(
        inferencer, config_payload):
    from mmdet.apis import DetInferencer
    from mmseg.apis import MMSegInferencer
    build = dict(DetInferencer=DetInferencer,
                 MMSegInferencer=MMSegInferencer)[inferencer]
    with pytest.raises(EmbeddedConfigError, match=r"not plain data.*"
                       r"DetInferencer\(model=CONFIG, weights=CHECKPOINT\)"):
        build(model=None, weights=config_payload, device='cpu')


@pytest.mark.parametrize('init', ['init_detector', 'init_model'])
def test_init_apis_need_a_config_and_never_run_the_stored_one(
        init, config_payload):
    from mmdet.apis import init_detector
    from mmseg.apis import init_model
    function = dict(init_detector=init_detector, init_model=init_model)[init]
    with pytest.raises(TypeError, match='config must be a filename'):
        function(None, config_payload, device='cpu')


def test_inferencer_reads_a_plain_stored_config(tmp_path):
    """A Runner checkpoint's own config text still works without a config
    file: it is plain data."""
    from mmdet.apis import DetInferencer, init_detector
    from mmengine.config import Config
    text = Config.fromfile(DET_DEMO).pretty_text
    path = tmp_path / 'with_config.pth'
    torch.save({'state_dict': init_detector(DET_DEMO, device='cpu')
                .state_dict(), 'meta': {},
                'message_hub': {'runtime_info': {'cfg': text}}}, path)
    inferencer = DetInferencer(model=None, weights=str(path), device='cpu')
    assert inferencer.cfg.model.backbone.type == 'HIRIViT'


@pytest.mark.slow
@pytest.mark.parametrize('how', ['--resume PATH', 'resume=True, load_from',
                                 '--resume (last_checkpoint)'])
def test_resume_never_runs_the_stored_config(how, config_payload,
                                             coco_shapes, tmp_path, capfd):
    from hiri_mm.openmmlab.cli import train
    work_dir = tmp_path / 'work'
    options = det_options(coco_shapes, 1)
    if how == '--resume PATH':
        args = ['--resume', config_payload]
    elif how == 'resume=True, load_from':
        args, options = [], [*options, 'resume=True',
                             f'load_from={config_payload}']
    else:
        work_dir.mkdir()
        (work_dir / 'last_checkpoint').write_text(config_payload)
        args = ['--resume']
    train([DET_DEMO, '--work-dir', str(work_dir), *args, '--cfg-options',
           *options])
    log = ''.join(capfd.readouterr())
    assert 'stores its config as Python text that is not plain data' in log
