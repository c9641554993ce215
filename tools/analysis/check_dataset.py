"""Check the data a config trains on, the way ``tools/train.py`` does before
training: reads each annotation file and decodes every image once, and lists
each problem with its file and id.

    python tools/analysis/check_dataset.py CONFIG [--splits train val test]
    python tools/analysis/check_dataset.py CONFIG --drop-bad-data \
        --work-dir DIR

COCO-style JSON sets: categories that disagree with the config's
``metainfo.classes`` (duplicates, classes without a category, another
order: mmdet would give classes the wrong labels), unreadable, truncated,
zero-byte, missing or degenerate images (a side below a few pixels, or an
aspect ratio the pipeline's resize turns into a zero side), image sizes that
disagree with the JSON as the pipeline loads the image (EXIF orientation
included), invalid or non-finite boxes, unknown category or image ids,
duplicate ids, fields of the wrong type, file names that leave the data
root, empty or invalid JSON. Folder-based segmentation sets (ADE20K layout):
missing, zero-byte, truncated or unreadable images and label maps,
degenerate images, image/label size mismatches, label values that are
neither a class nor the ignore index. Exits with status 1 and the first 20
problems (and the count of each kind) when it finds any; with
``--drop-bad-data`` it writes cleaned annotations to WORK_DIR/checked_data/
instead and reports what it dropped (category mismatches still stop).
``--fast-data-check`` reads image headers instead of decoding the images:
faster, blind to truncated files.
"""
import argparse
import time

from mmengine.config import DictAction

from hiri_mm.errors import HiriMMError
from hiri_mm.openmmlab.cli import load_config
from hiri_mm.openmmlab.data_paths import check_dataset_paths
from hiri_mm.openmmlab.data_checks import check_data


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Check a config\'s data')
    parser.add_argument('config', help='config file path or package path')
    parser.add_argument('--splits', nargs='+', default=['train', 'val'],
                        choices=['train', 'val', 'test'],
                        help='dataloaders to check')
    parser.add_argument('--drop-bad-data', action='store_true',
                        help='write annotations without the bad entries to '
                        'WORK_DIR/checked_data/ and report the counts')
    parser.add_argument('--work-dir', help='where --drop-bad-data writes')
    parser.add_argument('--data-root', metavar='DIR',
                        help='read the data set from DIR (as tools/train.py '
                        '--data-root)')
    parser.add_argument('--fast-data-check', action='store_true',
                        help='read image headers only, without decoding '
                        '(misses truncated images)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, key=value')
    args = parser.parse_args(argv)
    args.launcher, args.local_rank = 'none', 0
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    cfg = load_config(args)
    start = time.perf_counter()
    try:
        check_dataset_paths(cfg, args.splits)
        results = check_data(cfg, args.splits, args.drop_bad_data,
                             decode=not args.fast_data_check)
    except HiriMMError as error:
        raise SystemExit(str(error)) from None
    images = sum(r.images for r in results)
    annotations = sum(r.annotations for r in results)
    print(f'Checked {len(results)} annotation file(s)/folder(s), {images} '
          f'images, {annotations} annotations in '
          f'{time.perf_counter() - start:.1f} s: '
          f'{sum(len(r.problems) for r in results)} problems')


if __name__ == '__main__':
    main()
