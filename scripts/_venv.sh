# Shared by scripts/test, scripts/lint, scripts/setup and scripts/develop:
# find a suitable Python and (re)build the venv when requirements change.
# shellcheck shell=bash

VENV=${VENV:-.venv}
MIN_PYTHON=${MIN_PYTHON:-3.14.2}

_python_ok() {
  "$1" -c "import sys; v=tuple(int(x) for x in '$MIN_PYTHON'.split('.')); sys.exit(sys.version_info[:3] < v)" 2>/dev/null
}

find_python() {
  if [ -n "${PYTHON:-}" ]; then
    echo "$PYTHON"
    return
  fi
  local candidate
  for candidate in python3.14 python3.15 python3; do
    if command -v "$candidate" >/dev/null && _python_ok "$(command -v "$candidate")"; then
      command -v "$candidate"
      return
    fi
  done
  if command -v uv >/dev/null; then
    echo "No Python >= $MIN_PYTHON here; fetching one with uv." >&2
    uv python install "$MIN_PYTHON" >&2
    uv python find ">=$MIN_PYTHON"
    return
  fi
  cat >&2 <<MSG
Home Assistant needs Python >= $MIN_PYTHON, and none was found.
Install one of these, then run this again:
  - Python $MIN_PYTHON or newer from your distribution or python.org, or
  - uv (https://docs.astral.sh/uv/), which fetches a Python by itself, or
  - set PYTHON=/path/to/python3.14.
MSG
  exit 1
}

ensure_venv() {
  local requirements stamp python
  requirements=$(grep -v '^pytest-homeassistant-custom-component' requirements_test.txt)
  if [ -n "${PHCC_VERSION:-}" ]; then
    requirements+=$'\n'"pytest-homeassistant-custom-component==$PHCC_VERSION"
  else
    requirements+=$'\n'"$(grep '^pytest-homeassistant-custom-component' requirements_test.txt)"
  fi
  stamp=$(printf '%s' "$requirements" | sha256sum | cut -c1-16)
  if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c '' 2>/dev/null \
      && [ "$(cat "$VENV/.requirements-stamp" 2>/dev/null)" = "$stamp" ]; then
    return
  fi
  python=$(find_python)
  echo "Setting up $VENV with $("$python" --version) (first run takes a few minutes)" >&2
  rm -rf "$VENV"
  "$python" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  printf '%s\n' "$requirements" >"$VENV/requirements.txt"
  "$VENV/bin/python" -m pip install --quiet -r "$VENV/requirements.txt"
  # The voice tests run Home Assistant's conversation agent: install its
  # requirements at the versions this Home Assistant release pins.
  "$VENV/bin/python" - <<'PY' >"$VENV/conversation-requirements.txt"
import importlib.util, json, pathlib
root = pathlib.Path(importlib.util.find_spec("homeassistant").origin).parent
manifest = root / "components" / "conversation" / "manifest.json"
print("\n".join(json.loads(manifest.read_text())["requirements"]))
PY
  "$VENV/bin/python" -m pip install --quiet -r "$VENV/conversation-requirements.txt"
  echo "$stamp" >"$VENV/.requirements-stamp"
}
