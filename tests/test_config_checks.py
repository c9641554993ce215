"""Config fields of the wrong type are named with their config path and the
type expected, as a ConfigCheckError from tools/train.py before the Runner
is built (not a TypeError or IndexError from inside a check)."""
import glob
import os.path as osp
import re

import pytest

from hiri_mm.errors import ConfigCheckError
from hiri_mm.openmmlab.cli import train
from hiri_mm.openmmlab.config_checks import (check_num_classes,
                                             check_strides,
                                             field_type_problems)
from tests.helpers import (DET_DEMO, SEG_DEMO, config_copy, det_options,
                           seg_options)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

# (demo, the override as config text, the line the error must contain)
WRONG_TYPES = [
    (DET_DEMO, "model = dict(neck=dict(num_outs='5'))",
     "model.neck.num_outs = '5' (str): expected a positive int"),
    (DET_DEMO, "model = dict(neck=dict(start_level='0'))",
     "model.neck.start_level = '0' (str): expected an int >= 0"),
    (DET_DEMO, "model = dict(neck=dict(end_level=None))",
     'model.neck.end_level = None (NoneType): expected an int'),
    (DET_DEMO, 'model = dict(neck=dict(in_channels=[]))',
     'model.neck.in_channels = [] (list): expected an int or a non-empty '
     'list of ints'),
    (DET_DEMO, "model = dict(data_preprocessor=dict(pad_size_divisor='128'))",
     "model.data_preprocessor.pad_size_divisor = '128' (str): expected a "
     'positive int'),
    (DET_DEMO, 'model = dict(roi_head=dict(bbox_roi_extractor=dict('
     'featmap_strides=[])))',
     'model.roi_head.bbox_roi_extractor.featmap_strides = [] (list): '
     'expected a non-empty list of ints'),
    (DET_DEMO, 'model = dict(rpn_head=dict(anchor_generator=dict('
     "strides=['8', 16, 32, 64, 128])))",
     'model.rpn_head.anchor_generator.strides = '
     "['8', 16, 32, 64, 128] (list): expected a non-empty list of ints or "
     '(w, h) pairs of ints'),
    (DET_DEMO, "model = dict(roi_head=dict(bbox_head=dict(num_classes='3')))",
     "model.roi_head.bbox_head.num_classes = '3' (str): expected a positive "
     'int'),
    (SEG_DEMO, "model = dict(decode_head=dict(in_index='0'))",
     "model.decode_head.in_index = '0' (str): expected an int or a "
     'non-empty list of ints'),
    (SEG_DEMO, 'model = dict(auxiliary_head=dict(in_channels=128.0))',
     'model.auxiliary_head.in_channels = 128.0 (float): expected an int or '
     'a non-empty list of ints'),
    (SEG_DEMO, 'model = dict(decode_head=dict(num_classes=4.0))',
     'model.decode_head.num_classes = 4.0 (float): expected a positive int'),
]


def _write_config(tmp_path, demo, override):
    path = tmp_path / 'wrong_type.py'
    path.write_text(f'_base_ = {osp.join(ROOT, demo)!r}\n{override}\n')
    return str(path)


@pytest.mark.parametrize('demo,override,line', WRONG_TYPES)
def test_wrong_field_types_are_named_by_both_checks(demo, override, line,
                                                    tmp_path):
    cfg = config_copy(_write_config(tmp_path, demo, override))
    assert field_type_problems(cfg) == [line]
    for check in (check_num_classes, check_strides):
        with pytest.raises(ConfigCheckError, match=re.escape(line)):
            check(cfg)


@pytest.mark.parametrize('demo,override,line',
                         [WRONG_TYPES[0], WRONG_TYPES[-2]])
def test_train_names_the_field_before_the_runner(demo, override, line,
                                                 coco_shapes, ade_shapes,
                                                 tmp_path):
    options = det_options(coco_shapes, 1) if demo == DET_DEMO else \
        seg_options(ade_shapes, 2)
    with pytest.raises(ConfigCheckError, match=re.escape(line)):
        train([_write_config(tmp_path, demo, override), '--work-dir',
               str(tmp_path / 'w'), '--cfg-options', *options])
    assert not osp.exists(tmp_path / 'w')  # no Runner was built


def test_shipped_configs_have_the_right_types():
    configs = [c for c in glob.glob(osp.join(ROOT, 'configs', '*', '*.py'))
               if '_base_' not in c]
    assert len(configs) > 10
    for config in configs:
        assert field_type_problems(config_copy(config)) == [], config
