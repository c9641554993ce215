#!/usr/bin/env bash
# Build (or refresh) the project's virtual environment in .venv at the repo root.
#
# Idempotent: a stamp records the hash of requirements.txt, setup.py and this
# script; when nothing changed a re-run only checks that the imports work.
# mmcv 2.1.0 with compiled ops comes from ../shared/wheels when that wheel is
# present and matches SHA256SUMS, otherwise it is built from its source
# distribution with C++20 (torch 2.14 headers need it) and setuptools < 70.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
WHEELS="$ROOT/../shared/wheels"
MMCV_VERSION=2.1.0
STAMP="$VENV/.hiri_mm_stamp"

want_stamp=$(cat "$ROOT/requirements.txt" "$ROOT/setup.py" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)

check_imports() {
  "$PY" -c "import mmcv.ops, mmdet, mmseg, timm, pycocotools, onnxruntime, hiri_mm" 2>/dev/null
}

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want_stamp" ] && check_imports; then
  echo "[setup] .venv is up to date"
  exit 0
fi

[ -x "$PY" ] || python3.11 -m venv "$VENV" || python3 -m venv "$VENV"
PIP=("$PY" -m pip --disable-pip-version-check)

"${PIP[@]}" install -q 'pip>=23' wheel ninja
"${PIP[@]}" install -q -r "$ROOT/requirements.txt"

install_mmcv_from_wheel() {
  local whl
  whl=$(ls "$WHEELS"/mmcv-${MMCV_VERSION}-*.whl 2>/dev/null | head -n 1) || return 1
  [ -n "$whl" ] && [ -f "$WHEELS/SHA256SUMS" ] || return 1
  if ! (cd "$WHEELS" && grep " $(basename "$whl")\$" SHA256SUMS | sha256sum --check --status); then
    echo "[setup] checksum mismatch for $whl: ignoring it" >&2
    return 1
  fi
  echo "[setup] installing mmcv from $whl"
  "${PIP[@]}" install -q --no-deps "$whl"
}

build_mmcv_from_source() {
  echo "[setup] building mmcv ${MMCV_VERSION} from source (about 10 minutes on 2 idle cores)"
  local src
  src=$(mktemp -d)
  "${PIP[@]}" download -q --no-deps --no-binary :all: "mmcv==${MMCV_VERSION}" -d "$src"
  tar -xzf "$src"/mmcv-${MMCV_VERSION}.tar.gz -C "$src"
  sed -i 's/-std=c++17/-std=c++20/g' "$src/mmcv-${MMCV_VERSION}/setup.py"
  # mmcv's setup.py was verified with setuptools 69 only; restore the pin after.
  "${PIP[@]}" install -q 'setuptools==69.5.1'
  MMCV_WITH_OPS=1 MAX_JOBS="$(nproc)" "${PIP[@]}" install --no-build-isolation --no-deps "$src/mmcv-${MMCV_VERSION}"
  "${PIP[@]}" install -q -r "$ROOT/requirements.txt"
  rm -rf "$src"
}

if ! "$PY" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '${MMCV_VERSION}'" 2>/dev/null; then
  install_mmcv_from_wheel || build_mmcv_from_source
fi
# mmcv's runtime dependencies (the wheel was installed without them).
"${PIP[@]}" install -q addict yapf packaging Pillow pyyaml
"${PIP[@]}" install -q --no-deps -e "$ROOT"

check_imports
echo "$want_stamp" > "$STAMP"
echo "[setup] .venv ready"
