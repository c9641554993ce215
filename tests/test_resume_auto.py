"""``--resume`` without a path: the latest checkpoint when there is one,
else the config's own start (a fine-tuning config keeps its weights)."""
from mmengine.config import Config

from hiri_mm.openmmlab.runner_utils import resume_auto


def test_resume_auto_continues_from_the_latest_checkpoint(tmp_path):
    (tmp_path / 'epoch_2.pth').write_bytes(b'')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_2.pth'))
    cfg = Config(dict(work_dir=str(tmp_path), load_from='pretrained.pth'))
    resume_auto(cfg)
    assert cfg.resume and cfg.load_from == str(tmp_path / 'epoch_2.pth')


def test_resume_auto_without_checkpoint_keeps_weights_only_load_from(
        tmp_path):
    cfg = Config(dict(work_dir=str(tmp_path), load_from='pretrained.pth'))
    resume_auto(cfg)
    assert not cfg.resume and cfg.load_from == 'pretrained.pth'
