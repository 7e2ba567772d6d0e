#!/usr/bin/env bash
# Debian's Chromium for the kiosk page's browser test (tests/e2e/test_kiosk_browser.py).
# Playwright drives this binary; it never downloads a browser of its own.
set -euo pipefail
if [[ -x /usr/bin/chromium ]]; then
  exit 0
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "LỖI: cần gói chromium của Debian cho kiểm thử trình duyệt: chạy 'apt-get install chromium' bằng root." >&2
    exit 1
  fi
  SUDO=sudo
fi
echo ">> Cài Chromium (gói Debian) cho kiểm thử trình duyệt"
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
/usr/bin/chromium --version
