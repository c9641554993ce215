"""--data-root moves every dataloader and evaluator of a config; the
missing-data message says what is missing, where to get it and how to point
the config at it."""
import os.path as osp

import pytest

from hiri_mm.errors import ConfigCheckError
from hiri_mm.openmmlab.cli import load_config, parse_train_args
from hiri_mm.openmmlab.data_paths import (SPLITS, check_dataset_paths,
                                          dataset_paths, set_data_root)
from tests.helpers import DET_DEMO, config_copy

MASK_RCNN = 'configs/detection/maskrcnn_hiri_s_1x.py'
UPERNET = 'configs/segmentation/upernet_hiri_s_160k_ade20k.py'
IMAGENET = 'configs/classification/hiri_vit_s_300e_in1k.py'


@pytest.mark.parametrize('config, expected', [
    (MASK_RCNN, {'annotations/instances_train2017.json', 'train2017',
                 'annotations/instances_val2017.json', 'val2017'}),
    (UPERNET, {'images/training', 'annotations/training',
               'images/validation', 'annotations/validation'}),
    (IMAGENET, {'train', 'val'}),
])
def test_data_root_moves_every_dataloader_and_evaluator(config, expected,
                                                        tmp_path):
    cfg = config_copy(config)
    root = str(tmp_path / 'elsewhere')
    set_data_root(cfg, root)
    paths = dataset_paths(cfg, SPLITS)
    # Every path read, evaluators' ground truth included, is under the new
    # root, and the layout below it is the config's own.
    assert paths and all(p.startswith(root + osp.sep) for _, p in paths)
    assert {osp.relpath(p, root).rstrip('/') for _, p in paths} == expected
    if config == MASK_RCNN:
        assert cfg.val_evaluator.ann_file == osp.join(
            root, 'annotations/instances_val2017.json')


def test_data_root_option_of_the_tools(coco_shapes):
    """`tools/train.py CONFIG --data-root DIR` (and tools/test.py, which
    shares the option) finds a COCO-layout set at DIR with no other
    override."""
    args = parse_train_args([DET_DEMO, '--data-root', coco_shapes])
    cfg = load_config(args)
    check_dataset_paths(cfg, SPLITS)
    assert cfg.test_evaluator.ann_file == osp.join(
        coco_shapes, 'annotations/instances_val2017.json')


@pytest.mark.parametrize('config, source', [
    (MASK_RCNN, 'https://cocodataset.org'),
    (UPERNET, 'http://sceneparsing.csail.mit.edu'),
    (IMAGENET, 'https://image-net.org'),
])
def test_missing_data_message_says_where_to_get_it(config, source, tmp_path):
    cfg = config_copy(config)
    set_data_root(cfg, str(tmp_path / 'nothing_here'))
    with pytest.raises(ConfigCheckError) as error:
        check_dataset_paths(cfg, SPLITS)
    message = str(error.value)
    missing = [p for _, p in dataset_paths(cfg, SPLITS)]
    assert all(p in message for p in missing)
    assert source in message
    assert '--data-root DIR' in message
    # No other data set's address is suggested (the ADE20K message once
    # suggested /path/to/coco/).
    others = {'https://cocodataset.org', 'http://sceneparsing.csail.mit.edu',
              'https://image-net.org'} - {source}
    assert not any(other in message for other in others)
