#!/usr/bin/env bash
# Builds the answerdesk image without a package index inside the build: the wheels are made here on the
# host, with the host's pip settings, into the build context, and the Dockerfile installs only from them.
# Usage: deploy/build-image.sh [TAG]   (default answerdesk:latest)
# Env: BASE_IMAGE (default python:3.11-slim-bookworm), PYTHON (default python3, a 3.11 with pip),
#      TORCH_INDEX_URL (e.g. https://download.pytorch.org/whl/cpu where the CPU torch wheel is not local).
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-answerdesk:latest}
python=${PYTHON:-python3}
cache=${ANSWERDESK_DEPLOY_CACHE:-/var/cache/answerdesk-deploy}
# Wheel timestamps follow this, so the same source gives the same bytes and docker reuses its layers.
export SOURCE_DATE_EPOCH=315532800

quiet() {  # runs a command with its output in a log, shown only if it fails
  local log
  log=$(mktemp)
  if ! "$@" >"$log" 2>&1; then
    grep -v "is ignored: it is neither a file nor a directory" "$log" | tail -40 >&2
    rm -f "$log"; echo "error: $* failed" >&2; return 1
  fi
  rm -f "$log"
}

if [ ! -f src/answerdesk/admin/static/vendor/.stamp ]; then
  echo "error: the admin assets are missing; run 'make assets' first" >&2; exit 1
fi
base=${BASE_IMAGE:-python:3.11-slim-bookworm}
# The wheels are resolved here but installed by the image's Python, whose patch level can change which
# dependencies apply (redis needs async-timeout below 3.11.3), so ask it for its version.
target=$(docker run --rm --network host --entrypoint python3 "$base" -c 'import platform; print(platform.python_version())')
# Dependency wheels, cached per pyproject.toml and target Python: they change far less often than the code.
key=$( (cat pyproject.toml; echo "$target") | sha256sum | cut -c1-16)
deps=$cache/wheels-$key
if [ ! -f "$deps/.complete" ]; then
  echo "building dependency wheels for Python $target into $deps"
  rm -rf "$deps.tmp" && mkdir -p "$deps.tmp"
  index=(${TORCH_INDEX_URL:+--extra-index-url "$TORCH_INDEX_URL"})
  # Host resolution first (it builds wheels of any sdist), then the set for the target's Python
  # (Requires-Python: Debian's 3.11.2 needs older releases of some packages than the host's Python).
  quiet "$python" -m pip wheel -q --wheel-dir "$deps.tmp/host" "${index[@]}" torch==2.13.0 .
  quiet "$python" -m pip download -q --dest "$deps.tmp" --find-links "$deps.tmp/host" "${index[@]}" \
    --only-binary=:all: --python-version "$target" torch==2.13.0 "$deps.tmp"/host/answerdesk-*.whl
  rm -rf "$deps.tmp/host"
  "$python" - >"$deps.tmp/requirements.txt" <<'PY'
import tomllib

print("torch==2.13.0")
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))
PY
  # pip evaluates markers for the interpreter it runs on, so let the image's Python resolve the set
  # offline and add here whatever it misses (e.g. async-timeout for redis below Python 3.11.3).
  for _ in 1 2 3 4 5; do
    missing=$(docker run --rm --network host -v "$deps.tmp:/w:ro" --entrypoint sh "$base" -c \
      'python3 -m venv /tmp/v && /tmp/v/bin/pip install -q --dry-run --no-index -f /w -r /w/requirements.txt' \
      2>&1 | sed -n 's/.*No matching distribution found for \([^;]*\).*/\1/p' | head -1 || true)
    [ -z "$missing" ] && break
    echo "adding $missing for Python $target"
    quiet "$python" -m pip wheel -q --wheel-dir "$deps.tmp" --find-links "$deps.tmp" "$missing"
  done
  rm -f "$deps.tmp"/answerdesk-*.whl
  touch "$deps.tmp/.complete"
  rm -rf "$deps" && mv "$deps.tmp" "$deps"
fi
rm -rf deploy/wheelhouse deploy/app-wheel && mkdir -p deploy/app-wheel
cp -al "$deps" deploy/wheelhouse 2>/dev/null || cp -a "$deps" deploy/wheelhouse
rm -f deploy/wheelhouse/.complete
# setuptools reuses build/lib: a file deleted from src/ would otherwise live on in the wheel.
rm -rf build
quiet "$python" -m pip wheel -q --no-deps --wheel-dir deploy/app-wheel .

echo "building $tag on $base"
# The Dockerfile needs BuildKit (RUN --mount). A docker CLI without the buildx plugin cannot use it, but
# Debian's docker.io client (/usr/bin/docker, 20.10) has it built in.
build=(docker build)
if ! docker buildx version >/dev/null 2>&1 && [ -x /usr/bin/docker ]; then build=(/usr/bin/docker build); fi
# Host networking: nothing in the build touches a container-bridge address (it needs no network anyway).
DOCKER_BUILDKIT=1 quiet "${build[@]}" --progress=plain --network host --build-arg BASE_IMAGE="$base" -t "$tag" .
# The image this tag had before is left untagged: drop it, or every build keeps 2 GB more.
docker image prune -f --filter label=org.opencontainers.image.title=answerdesk >/dev/null
# Each code change leaves ~2 GB of build cache (the app layer, the export, the final copy): cap it.
"${build[0]}" builder prune -f --keep-storage 10GB >/dev/null 2>&1 || true
echo "built $tag in ${SECONDS}s: $(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}')"
