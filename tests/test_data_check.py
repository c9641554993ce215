"""The data check before training: every bad-data case names its file and
entry (or, with --drop-bad-data, is dropped with a logged count); the other
config checks run in tools/train.py before the Runner is built."""
import importlib
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from hiri_mm.errors import ConfigCheckError, DataCheckError
from hiri_mm.openmmlab.cli import train
from hiri_mm.openmmlab.config_checks import check_strides
from hiri_mm.openmmlab.data_checks import (SHOWN_PROBLEMS, LabelSpec,
                                           Problem, check_coco, check_data,
                                           check_segmentation,
                                           format_problems)
from hiri_mm.openmmlab.image_checks import degenerate, resize_targets
from tests.helpers import (DET_DEMO, SEG_DEMO, config_copy, det_options,
                           seg_options)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CLASSIFICATION = 'configs/classification/hiri_vit_s_300e_in1k.py'


@pytest.fixture
def coco(coco_shapes, tmp_path):
    """A writable copy of the generated COCO set: (root, annotations of the
    training split, a function that saves them)."""
    root = str(tmp_path / 'coco')
    shutil.copytree(coco_shapes, root)
    ann_file = osp.join(root, 'annotations', 'instances_train2017.json')
    with open(ann_file) as f:
        ann = json.load(f)

    def save():
        with open(ann_file, 'w') as f:
            json.dump(ann, f)

    return root, ann, save


def _det_cfg(root, work_dir='work_dirs/unused'):
    cfg = config_copy(osp.join(ROOT, DET_DEMO))
    for split in ('train', 'val', 'test'):
        cfg[f'{split}_dataloader'].dataset.data_root = root + '/'
    cfg.val_evaluator.ann_file = \
        f'{root}/annotations/instances_val2017.json'
    cfg.work_dir = work_dir
    return cfg


def _image(root, ann, i=0):
    return osp.join(root, 'train2017', ann['images'][i]['file_name'])


CLASSES = ['circle', 'square', 'triangle']
CATEGORIES = {
    'duplicate entry': [(1, 'circle'), (2, 'square'), (2, 'square'),
                        (3, 'triangle')],
    'one name, two ids': [(1, 'circle'), (2, 'square'), (4, 'square'),
                          (3, 'triangle')],
    'misspelt name': [(1, 'circle'), (2, 'square'), (3, 'triangel')],
    'another order': [(2, 'square'), (1, 'circle'), (3, 'triangle')],
    'extra category': [(1, 'circle'), (2, 'square'), (3, 'triangle'),
                       (4, 'hexagon')],
}


def _break(case, root, ann):
    """Make the training split bad in one way; return (text the error must
    contain, the file it must name)."""
    ann_file = osp.join(root, 'annotations', 'instances_train2017.json')
    first = ann['annotations'][0]
    img = next(i for i in ann['images'] if i['id'] == first['image_id'])
    where = f'annotation id {first["id"]} (image id {img["id"]})'
    if case in CATEGORIES:
        ann['categories'] = [dict(id=i, name=n) for i, n in CATEGORIES[case]]
        return 'categories: categories disagree with metainfo.classes', \
            ann_file
    if case == 'negative width':
        first['bbox'][2] = -3
        return f'{where}: invalid box', ann_file
    if case == 'box outside':
        first['bbox'][0] = img['width'] + 10
        return f'{where}: invalid box', ann_file
    if case == 'unknown category':
        first['category_id'] = 42
        return f'{where}: unknown category id (42', ann_file
    path = _image(root, ann)
    if case == 'zero-byte image':
        open(path, 'w').close()
        return 'image id 1: zero-byte file', path
    if case == 'missing image':
        shutil.move(path, path + '.moved')
        return 'image id 1: file not found', path
    if case == 'unreadable image':
        with open(path, 'wb') as f:
            f.write(b'not an image at all')
        return 'image id 1: unreadable image', path
    if case == '1x4000 image':
        cv2.imwrite(path, np.zeros((4000, 1, 3), np.uint8))
        ann['images'][0].update(width=1, height=4000)
        return 'image id 1: degenerate image', path
    if case == 'size mismatch':
        ann['images'][0].update(width=300, height=200)
        return 'image id 1: size mismatch', path
    if case == 'NaN in a box':
        first['bbox'][1] = float('nan')
        return f'{where}: non-finite box', ann_file
    if case == 'category_id [1]':
        first['category_id'] = [first['category_id']]
        return (f'{where}: malformed annotation ("category_id" is [', ann_file)
    if case == 'file_name 123':
        ann['images'][0]['file_name'] = 123
        return ('image id 1: malformed image entry ("file_name" is 123, '
                'expected a non-empty string)', ann_file)
    if case in ('file_name ../', 'absolute file_name'):
        outside = osp.join(osp.dirname(root), 'outside.png')
        shutil.copy(path, outside)
        ann['images'][0]['file_name'] = outside if case.startswith(
            'absolute') else '../../outside.png'
        return 'image id 1: file outside the data root', ann_file
    if case in ('truncated PNG', 'truncated JPEG'):
        if case.endswith('JPEG'):
            path = _as_jpeg(path, ann['images'][0])
        with open(path, 'rb') as f:
            data = f.read()
        with open(path, 'wb') as f:
            f.write(data[:len(data) * 3 // 4])
        return 'image id 1: truncated image', path
    if case == 'EXIF orientation 6':
        path = _as_jpeg(path, ann['images'][0], width=160, orientation=6)
        return 'image id 1: rotated by its EXIF orientation', path
    raise ValueError(case)


def _as_jpeg(path, img, width=None, orientation=None):
    """Replace the PNG of ``img`` by a JPEG (``width`` wide, with an EXIF
    ``orientation``); return its path."""
    from PIL import Image
    pixels = cv2.imread(path)[:, :, ::-1]
    if width:
        pixels = np.concatenate([pixels, pixels], 1)[:, :width]
        img['width'] = width
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    os.remove(path)
    img['file_name'] = img['file_name'].replace('.png', '.jpg')
    path = path.replace('.png', '.jpg')
    Image.fromarray(np.ascontiguousarray(pixels)).save(path, exif=exif)
    return path


BAD_COCO = ['negative width', 'box outside', 'unknown category',
            'zero-byte image', 'missing image', 'unreadable image',
            '1x4000 image', 'size mismatch', 'NaN in a box',
            'category_id [1]', 'file_name 123', 'file_name ../',
            'absolute file_name', 'truncated PNG', 'truncated JPEG',
            'EXIF orientation 6']


@pytest.mark.parametrize('case', BAD_COCO)
def test_bad_coco_data_is_named(case, coco):
    root, ann, save = coco
    text, path = _break(case, root, ann)
    save()
    with pytest.raises(DataCheckError) as error:
        check_data(_det_cfg(root))
    message = str(error.value)
    assert f'{path}: {text}' in message
    assert 'Counts: ' in message and '--drop-bad-data' in message


def test_malformed_entries_are_named_not_raised(tmp_path):
    """Entries of the wrong shape are problems (with their index), never a
    TypeError from the check; string ids are valid (pycocotools and mmdet
    index by them)."""
    cv2.imwrite(str(tmp_path / 'a.png'), np.zeros((8, 8, 3), np.uint8))
    ann_file = tmp_path / 'a.json'
    ann_file.write_text(json.dumps(dict(
        images=[dict(id=[1], file_name='a.png', width=8, height=8), 'x',
                dict(id='a', file_name='a.png', width=8, height=8)],
        annotations=[dict(id=1, image_id=[1], category_id=1,
                          bbox=[0, 0, 1, 1], area=1.), 7,
                     dict(id=2, image_id='a', category_id=1,
                          bbox=[0, 0, 1, 1]),
                     dict(id=3, image_id='a', category_id=1,
                          bbox=[0, 0, 1, 1], area=1.)],
        categories=[dict(id=1, name='a')])))
    result = check_coco(str(ann_file), str(tmp_path), classes=['a'])
    assert [str(p).split(': ', 1)[1] for p in result.problems] == [
        'images[0]: malformed image entry ("id" is [1], expected an int or '
        'a string)',
        "images[1]: malformed image entry ('x' is not an object)",
        'annotation id 1 (image id [1]): malformed annotation ("image_id" '
        'is [1], expected an int or a string)',
        'annotations[1]: malformed annotation (7 is not an object)',
        "annotation id 2 (image id 'a'): malformed annotation (\"area\" is "
        'missing, expected a number)']
    assert [a['id'] for a in result.cleaned['annotations']] == [3]


@pytest.mark.parametrize('content,text', [
    (b'', 'empty annotation file'),
    (b'{"images": [', 'line 1 column 13: invalid JSON'),
    (b'[1, 2]', 'not a COCO annotation file'),
])
def test_unreadable_annotation_file_is_named(content, text, coco):
    root, _, _ = coco
    ann_file = osp.join(root, 'annotations', 'instances_train2017.json')
    with open(ann_file, 'wb') as f:
        f.write(content)
    for drop in (False, True):  # dropping cannot help here
        with pytest.raises(DataCheckError, match=f'{ann_file}: {text}'):
            check_data(_det_cfg(root), drop_bad_data=drop)


def test_drop_bad_data_writes_cleaned_annotations(coco, tmp_path):
    root, ann, save = coco
    _break('zero-byte image', root, ann)
    bad_image = ann['images'][0]['id']
    on_bad_image = sum(a['image_id'] == bad_image for a in ann['annotations'])
    ann['annotations'][-1]['bbox'][3] = 0
    save()
    cfg = _det_cfg(root, str(tmp_path / 'work'))
    result, = check_data(cfg, drop_bad_data=True)
    assert result.dropped == dict(images=1, annotations=on_bad_image + 1)
    cleaned_file = cfg.train_dataloader.dataset.ann_file
    assert cleaned_file.startswith(str(tmp_path / 'work' / 'checked_data'))
    with open(cleaned_file) as f:
        cleaned = json.load(f)
    assert bad_image not in {i['id'] for i in cleaned['images']}
    assert len(cleaned['annotations']) == \
        len(ann['annotations']) - on_bad_image - 1


@pytest.mark.parametrize('case', BAD_COCO[8:] + ['misspelt name'])
def test_train_and_check_dataset_name_it_before_the_runner(
        case, coco, tmp_path):
    from tools.analysis.check_dataset import main
    root, ann, save = coco
    text, path = _break(case, root, ann)
    save()
    options = ['--cfg-options', *det_options(root, 1)]
    with pytest.raises(DataCheckError, match=re.escape(f'{path}: {text}')):
        train([DET_DEMO, '--work-dir', str(tmp_path / 'w'), *options])
    assert not osp.exists(tmp_path / 'w')  # no Runner was built
    with pytest.raises(SystemExit) as error:
        main([DET_DEMO, '--splits', 'train', *options])
    assert f'{path}: {text}' in str(error.value)


def test_exif_orientation_follows_load_image_from_file(coco):
    """mmcv's default decode (cv2, IMREAD_COLOR) turns the picture; the
    check compares the JSON with that size, unless the pipeline keeps the
    stored pixels."""
    import mmcv
    root, ann, save = coco
    _, path = _break('EXIF orientation 6', root, ann)
    save()
    assert (ann['images'][0]['width'], ann['images'][0]['height']) == \
        (160, 128)
    assert mmcv.imread(path).shape[:2] == (160, 128)  # height 160: turned
    assert mmcv.imread(path, 'color_ignore_orientation').shape[:2] == \
        (128, 160)
    cfg = _det_cfg(root)
    cfg.train_dataloader.dataset.pipeline[0].color_type = \
        'color_ignore_orientation'
    result, = check_data(cfg)
    assert result.problems == []


@pytest.mark.parametrize('case', ['truncated PNG', 'truncated JPEG'])
def test_truncated_images_fail_in_the_pipeline(case, coco):
    """The header is intact (the old header-only check passed them); mmcv
    cannot decode the pixels, so training would stop mid-epoch."""
    import mmcv
    root, ann, save = coco
    _, path = _break(case, root, ann)
    save()
    assert mmcv.imread(path) is None
    result, = check_data(_det_cfg(root), decode=False)
    assert result.problems == []  # --fast-data-check: headers only


@pytest.mark.parametrize('flags, decode', [([], True),
                                            (['--fast-data-check'], False)])
def test_train_tool_decodes_unless_told_to_read_headers(flags, decode,
                                                        coco_shapes,
                                                        monkeypatch):
    # The package exports the function `train` under the module's name.
    cli_train = importlib.import_module('hiri_mm.openmmlab.cli.train')
    calls = []

    def stop(cfg, splits, drop_bad_data, decode):
        calls.append(decode)
        raise DataCheckError('stopped by the test')

    monkeypatch.setattr(cli_train, 'check_data', stop)
    with pytest.raises(DataCheckError, match='stopped by the test'):
        train([DET_DEMO, '--data-root', coco_shapes, *flags])
    assert calls == [decode]


def _mmdet_labels_are_right(ann_file):
    """Whether mmdet's CocoDataset gives every class of :data:`CLASSES`
    exactly its own label."""
    from mmdet.datasets import CocoDataset
    dataset = CocoDataset(ann_file=ann_file, metainfo=dict(classes=CLASSES),
                          data_prefix=dict(img=''), pipeline=[],
                          test_mode=True)
    with open(ann_file) as f:
        names = {c['id']: c['name'] for c in json.load(f)['categories']}
    return len(dataset.cat_ids) == len(CLASSES) and all(
        dataset.cat2label[i] == CLASSES.index(names[i])
        for i in dataset.cat_ids)


@pytest.mark.parametrize('case', CATEGORIES)
def test_categories_are_checked_as_mmdet_maps_them(case, coco, tmp_path):
    root, ann, save = coco
    text, ann_file = _break(case, root, ann)
    save()
    cfg = _det_cfg(root, str(tmp_path / 'work'))
    if case == 'extra category':  # a subset of the JSON: mmdet's design
        assert _mmdet_labels_are_right(ann_file)
        assert check_data(cfg)[0].problems == []
        return
    assert not _mmdet_labels_are_right(ann_file)
    for drop in (False, True):  # dropping entries cannot fix the labels
        with pytest.raises(DataCheckError) as error:
            check_data(cfg, drop_bad_data=drop)
        message = str(error.value)
        assert f'{ann_file}: {text}' in message
        assert f'metainfo.classes: {CLASSES}' in message
        assert 'JSON categories (id: name): [' in message
        assert '--drop-bad-data' not in message
    assert not osp.exists(tmp_path / 'work')


@pytest.mark.slow
def test_train_with_drop_bad_data_logs_the_count(coco, tmp_path):
    root, ann, save = coco
    _break('1x4000 image', root, ann)
    save()
    done = subprocess.run(
        [sys.executable, 'tools/train.py', DET_DEMO, '--work-dir',
         str(tmp_path / 'w'), '--drop-bad-data', '--cfg-options',
         *det_options(root, 1)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    log = done.stdout + done.stderr
    assert 'image id 1: degenerate image' in log
    assert '--drop-bad-data: dropped 1 images' in log
    assert osp.isfile(tmp_path / 'w' / 'epoch_1.pth')


@pytest.fixture
def ade(ade_shapes, tmp_path):
    root = str(tmp_path / 'ade')
    shutil.copytree(ade_shapes, root)
    return root


def _seg_cfg(root, work_dir='work_dirs/unused'):
    cfg = config_copy(osp.join(ROOT, SEG_DEMO))
    for split in ('train', 'val', 'test'):
        cfg[f'{split}_dataloader'].dataset.data_root = root
    cfg.work_dir = work_dir
    return cfg


def test_bad_segmentation_data_is_named(ade):
    images = osp.join(ade, 'images', 'training')
    labels = osp.join(ade, 'annotations', 'training')
    shutil.move(osp.join(labels, '000000.png'), osp.join(ade, 'moved.png'))
    open(osp.join(images, '000001.png'), 'w').close()
    cv2.imwrite(osp.join(labels, '000002.png'), np.ones((10, 20), np.uint8))
    with open(osp.join(labels, '000003.png'), 'rb+') as f:
        f.truncate(len(f.read()) // 2)
    with pytest.raises(DataCheckError) as error:
        check_data(_seg_cfg(ade))
    message = str(error.value)
    assert f'{labels}/000003.png: label map: truncated image' in message
    assert f'{labels}/000000.png: label map: file not found' in message
    assert f'{images}/000001.png: image: zero-byte file' in message
    assert f'{labels}/000002.png: label map: size mismatch' in message


def test_label_values_outside_the_classes_are_named(ade, tmp_path):
    """The demo has 4 classes and reduce_zero_label: 1..4 are classes, 0
    and 255 ignored; 9 (label 8) would fail the loss at the first step."""
    from tools.analysis.check_dataset import main
    label = osp.join(ade, 'annotations', 'training', '000001.png')
    pixels = cv2.imread(label, cv2.IMREAD_UNCHANGED)
    pixels[:2, :2] = [[0, 255], [4, 9]]
    cv2.imwrite(label, pixels)
    text = (f'{label}: label map: label values out of range (values [9]: '
            'labels must be 0..3 or the ignore index 255, after '
            'reduce_zero_label)')
    options = ['--cfg-options', *seg_options(ade, 2)]
    with pytest.raises(DataCheckError, match=re.escape(text)):
        train([SEG_DEMO, '--work-dir', str(tmp_path / 'w'), *options])
    assert not osp.exists(tmp_path / 'w')
    with pytest.raises(SystemExit) as error:
        main([SEG_DEMO, '--splits', 'train', *options])
    assert text in str(error.value)


def test_label_spec_follows_mmseg():
    values = np.array([0, 1, 4, 5, 254, 255], np.uint8)
    assert LabelSpec(4).bad_values(values).tolist() == [4, 5, 254]
    reduced = LabelSpec(4, reduce_zero_label=True)
    assert reduced.labels(values).tolist() == [255, 0, 3, 4, 253, 255]
    assert reduced.bad_values(values).tolist() == [5, 254]
    # metainfo.classes a subset: mmseg maps the other classes to 255.
    subset = LabelSpec(2, label_map={0: 255, 1: 0, 2: 1})
    assert subset.bad_values(np.array([0, 1, 2, 3], np.uint8)).tolist() \
        == [3]
    assert LabelSpec(4, ignore_index=5).bad_values(values).tolist() == \
        [4, 254, 255]


def test_segmentation_names_leaving_the_folders_are_named(ade):
    images = osp.join(ade, 'images', 'training')
    labels = osp.join(ade, 'annotations', 'training')
    result = check_segmentation(images, labels, '.png', '.png',
                                ['000000', '../training/000001', '../../x'])
    assert [(p.file, p.kind) for p in result.problems] == [
        (osp.join(images, '../../x.png'), 'file not found'),
        (osp.join(labels, '../../x.png'), 'file not found'),
        (osp.join(images, '../../x.png'), 'file outside the data root')]
    assert result.cleaned == ['000000', '../training/000001']


def test_segmentation_drop_lists_the_good_samples(ade, tmp_path):
    labels = osp.join(ade, 'annotations', 'training')
    shutil.move(osp.join(labels, '000003.png'), osp.join(ade, 'moved.png'))
    cfg = _seg_cfg(ade, str(tmp_path / 'work'))
    result, = check_data(cfg, drop_bad_data=True)
    assert result.dropped['images'] == 1
    with open(cfg.train_dataloader.dataset.ann_file) as f:
        assert f.read().split() == ['000000', '000001', '000002']
    from mmseg.registry import DATASETS
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    assert len(dataset) == 3  # mmseg reads the list


def test_check_dataset_tool_counts_each_set_once(ade, capsys):
    """val and test read the same folder: one set, its problems once."""
    from tools.analysis.check_dataset import main
    options = ['--cfg-options'] + [
        f'{split}_dataloader.dataset.data_root={ade}'
        for split in ('train', 'val', 'test')]
    main(['hiri_mm::demo/upernet_hiri_s_shapes.py', '--splits', 'train',
          'val', 'test', '--data-root', ade])
    assert re.search(r'Checked 2 annotation file\(s\)/folder\(s\), 6 '
                     r'images, .* s: 0 problems',
                     capsys.readouterr().out)
    labels = osp.join(ade, 'annotations', 'validation')
    os.remove(osp.join(labels, '000000.png'))
    with pytest.raises(SystemExit) as error:
        main([SEG_DEMO, '--splits', 'val', 'test', *options])
    assert str(error.value).count('label map: file not found') == 1


def test_resize_limit_follows_the_pipeline():
    demo = resize_targets(config_copy(
        osp.join(ROOT, DET_DEMO)).train_dataloader.dataset.pipeline)
    full = resize_targets(config_copy(osp.join(
        ROOT, 'configs/detection/maskrcnn_hiri_s_3x.py')
    ).train_dataloader.dataset.pipeline)
    assert demo == [(192, 192)]
    # 3x: RandomChoiceResize scales, also inside RandomChoice.
    assert (2666, 960) in full and (2666, 800) in full
    assert degenerate((5, 4000), demo) and not degenerate((5, 4000), full)
    assert degenerate((3, 30), []) and not degenerate((40, 30), demo)


def test_first_twenty_problems_and_counts():
    problems = [Problem(f'f{i}.jpg', f'image id {i}', 'zero-byte file')
                for i in range(25)] + [Problem('a.json', 'x', 'invalid box')]
    text = format_problems(problems, can_drop=True)
    assert 'f19.jpg' in text and 'f20.jpg' not in text
    assert f'... and {26 - SHOWN_PROBLEMS} more' in text
    assert 'Counts: zero-byte file: 25, invalid box: 1' in text


def test_classification_configs_are_skipped():
    cfg = config_copy(osp.join(ROOT, CLASSIFICATION))
    assert check_data(cfg, ('train', 'val')) == []
    check_strides(cfg)  # no HIRIViT + FPN: nothing to check


def test_train_checks_strides_before_the_runner(coco_shapes, tmp_path):
    with pytest.raises(ConfigCheckError, match=r'anchor_generator.strides '
                       r'\[4, 8, 16, 32, 64\] != FPN level strides'):
        train([DET_DEMO, '--work-dir', str(tmp_path / 'w'), '--cfg-options',
               *det_options(coco_shapes, 1),
               'model.rpn_head.anchor_generator.strides=[4,8,16,32,64]'])
    assert not osp.exists(tmp_path / 'w')


@pytest.mark.slow
def test_check_on_100k_annotations(tmp_path):
    """Generated COCO-like set: 13,700 images (one 640x480 JPEG's bytes
    each) and 100,000 annotations (COCO's 7.3 per image), 4 bad. Prints the
    time of the full check (every image decoded) and of the header-only
    one (--fast-data-check), which misses the truncated image."""
    root = tmp_path / 'big'
    (root / 'images').mkdir(parents=True)
    ok, jpeg = cv2.imencode('.jpg', np.random.default_rng(0).integers(
        0, 255, (480, 640, 3), dtype=np.uint8))
    rng = np.random.default_rng(0)
    images, annotations = [], []
    for i in range(13700):
        name = f'{i:012d}.jpg'
        (root / 'images' / name).write_bytes(jpeg.tobytes())
        images.append(dict(id=i, file_name=name, width=640, height=480))
    for i in range(100000):
        x, y = rng.uniform(0, 600), rng.uniform(0, 440)
        annotations.append(dict(id=i, image_id=i % 13700, category_id=1,
                                bbox=[x, y, 20., 30.], area=600.,
                                iscrowd=0))
    annotations[5]['bbox'][2] = -1
    annotations[6]['category_id'] = 7
    (root / 'images' / images[9]['file_name']).write_bytes(b'')
    (root / 'images' / images[10]['file_name']).write_bytes(
        jpeg.tobytes()[:-1000])
    ann_file = root / 'instances.json'
    ann_file.write_text(json.dumps(dict(
        images=images, annotations=annotations,
        categories=[dict(id=1, name='thing')])))
    kinds = ['invalid box', 'truncated image', 'unknown category id',
             'zero-byte file']
    for decode in (True, False):
        start, cpu = time.perf_counter(), time.process_time()
        result = check_coco(str(ann_file), str(root / 'images'),
                            [dict(type='Resize', scale=(1333, 800))],
                            ['thing'], decode=decode)
        print(f'\ndata check ({"decoded" if decode else "headers only"}): '
              f'{result.images} images, {result.annotations} annotations '
              f'in {time.perf_counter() - start:.2f} s '
              f'({time.process_time() - cpu:.1f} CPU-s)')
        assert sorted(p.kind for p in result.problems) == [
            k for k in kinds if decode or k != 'truncated image']
