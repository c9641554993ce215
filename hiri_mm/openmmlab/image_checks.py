"""What the data checks read from image files and pipelines: image sizes
from the file headers (without decoding pixels) and the resize limits of a
pipeline, below which an image is degenerate."""
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Iterator, List, Optional, Sequence, Tuple

from .config_checks import type_name

__all__ = ['MIN_IMAGE_SIDE', 'ImageInfo', 'read_image_header',
           'read_image_headers', 'resize_targets', 'degenerate']

# Images with a side below this many pixels are reported as degenerate.
MIN_IMAGE_SIDE = 4


@dataclass
class ImageInfo:
    """What the header of an image file says: ``size`` is ``(width,
    height)``, or None with ``error`` (kind, detail) set."""
    size: Optional[Tuple[int, int]] = None
    error: Optional[Tuple[str, str]] = None


def read_image_header(path: str) -> ImageInfo:
    """Size of an image from its header, without decoding the pixels;
    ``error`` names a missing, zero-byte or unreadable file."""
    from PIL import Image
    try:
        if os.stat(path).st_size == 0:
            return ImageInfo(error=('zero-byte file', ''))
    except FileNotFoundError:
        return ImageInfo(error=('file not found', ''))
    except OSError as e:
        return ImageInfo(error=('unreadable file', e.strerror))
    try:
        with Image.open(path) as img:
            return ImageInfo(size=img.size)
    except Exception as e:  # PIL raises many types for bad files
        return ImageInfo(error=('unreadable image', f'{type(e).__name__}: '
                                f'{e}'))


def read_image_headers(paths: Sequence[str]) -> List[ImageInfo]:
    """:func:`read_image_header` of many files (threads overlap the file
    system's latency)."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(read_image_header, paths, chunksize=256))


def _transforms(pipeline: Sequence[Any]) -> Iterator[dict]:
    """Every transform of a pipeline, including those nested in wrappers
    (RandomChoice, RandomApply, TestTimeAug: ``transforms=[...]``)."""
    for t in pipeline or []:
        if isinstance(t, (list, tuple)):
            yield from _transforms(t)
        elif isinstance(t, dict):
            yield t
            yield from _transforms(t.get('transforms') or [])


def resize_targets(pipeline: Sequence[dict]) -> List[Tuple[float, float]]:
    """``(long, short)`` edge limits of every keep-ratio resize a pipeline
    may apply (mmcv's Resize, RandomResize, RandomChoiceResize and their
    mmdet/mmseg subclasses, also inside RandomChoice & co.), the smallest
    of each RandomResize range. An image that rescales to a zero side at
    any of them cannot be loaded for training."""
    targets = []
    for t in _transforms(pipeline):
        name = type_name(t)
        if not name.endswith('Resize') or not t.get('keep_ratio', True):
            continue
        scales = t.get('scales') if name == 'RandomChoiceResize' else \
            t.get('scale')
        if not scales:
            continue
        if isinstance(scales[0], (int, float)):
            scales = [scales]
        ratio = min(t.get('ratio_range') or (1., ))
        if name == 'RandomResize':  # scale limits -> the smallest corner
            scales = [(min(max(s) for s in scales),
                       min(min(s) for s in scales))]
        for scale in scales:
            target = (max(scale) * ratio, min(scale) * ratio)
            if target not in targets:
                targets.append(target)
    return targets


def degenerate(size: Tuple[int, int],
               targets: Sequence[Tuple[float, float]]) -> Optional[str]:
    """Why an image of ``size`` (w, h) cannot be trained on (the detail of
    a ``'degenerate image'`` problem), or None."""
    from mmcv.image import rescale_size
    w, h = size
    if min(w, h) < MIN_IMAGE_SIDE:
        return f'{w}x{h} pixels, a side below {MIN_IMAGE_SIDE}'
    for target in targets:
        new_w, new_h = rescale_size((w, h), target)
        if min(new_w, new_h) < 1:
            return (f'{w}x{h} pixels: aspect ratio '
                    f'{max(w, h) / min(w, h):.0f}:1 rescales to '
                    f'{new_w}x{new_h} at the pipeline\'s scale '
                    f'{tuple(int(s) for s in target)}')
    return None
