#!/usr/bin/env bash
# Creates (or updates) the project's two pinned environments:
#   .venv/rasa      Python 3.10: Rasa 3.6 server and action server  (requirements/rasa.lock)
#   .venv/services  Python 3.11: FastAPI services                   (requirements/services.lock)
# An environment is reinstalled only when its lock file changed.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {  # $1 = version, e.g. 3.10
  local version=$1 candidate
  local candidates=()
  if command -v pyenv >/dev/null 2>&1; then
    for candidate in "$(pyenv root)/versions/$version".*/bin/python; do candidates+=("$candidate"); done
  fi
  candidates+=("$(command -v "python$version" 2>/dev/null || true)")
  for candidate in "${candidates[@]}"; do
    if [[ -n "$candidate" && -x "$candidate" ]] && "$candidate" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$version'.split('.'))))" 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}

ensure_env() {  # $1 = name, $2 = python version, $3 = lock file
  local name=$1 version=$2 lock=$3 venv=".venv/$1" python
  local want; want=$(sha256sum "$lock" | cut -d' ' -f1)
  if [[ -f "$venv/.lock-sha256" && "$(cat "$venv/.lock-sha256")" == "$want" ]]; then
    return 0
  fi
  if ! python=$(find_python "$version"); then
    echo "LỖI: cần Python $version cho môi trường '$name' nhưng không tìm thấy." >&2
    echo "     Cài bằng 'pyenv install $version' hoặc đặt python$version vào PATH, rồi chạy lại." >&2
    exit 1
  fi
  echo ">> Tạo môi trường $name ($python, $lock)"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  # (pip's notes about unused local index folders on this kind of machine are filtered out)
  "$venv/bin/python" -m pip install --quiet --upgrade "pip==24.3.1" 2> >(grep -v "is ignored: it is neither" >&2)
  "$venv/bin/python" -m pip install --quiet --no-deps -r "$lock" 2> >(grep -v "is ignored: it is neither" >&2)
  "$venv/bin/python" -m pip check >/dev/null || "$venv/bin/python" -m pip check
  echo "$want" > "$venv/.lock-sha256"
}

ensure_env rasa 3.10 requirements/rasa.lock
ensure_env services 3.11 requirements/services.lock
