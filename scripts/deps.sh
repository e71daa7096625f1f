#!/usr/bin/env bash
# Installs the Debian packages hundun needs, when one is missing. Quiet when all are there.
# Installs with apt-get as root (or with sudo when it needs no password); otherwise prints the one command to run.
#   scripts/deps.sh        what every build needs
#   scripts/deps.sh fuzz   that and what `make fuzz` needs too: clang++, its libFuzzer and sanitizer runtimes, its OpenMP
set -euo pipefail

# package -> a file it installs
declare -A needs=(
  [libgtest-dev]=/usr/include/gtest/gtest.h
  [libfmt-dev]=/usr/include/fmt/format.h
  [libstb-dev]=/usr/include/stb/stb_image.h
  [zlib1g-dev]=/usr/include/zlib.h
  [dataset-fashion-mnist]=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
  [fonts-wqy-zenhei]=/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc   # labels in PNGs and SVGs, Chinese included
  [fontconfig]=/usr/bin/fc-match                                       # how SVG viewers find that font
  [clang]=/usr/bin/clang++
  [libclang-rt-14-dev]=/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a
  [libomp-14-dev]=/usr/lib/llvm-14/lib/libomp.so
)
packages=(libgtest-dev libfmt-dev libstb-dev zlib1g-dev dataset-fashion-mnist fonts-wqy-zenhei fontconfig)
[ "${1:-}" = fuzz ] && packages+=(clang libclang-rt-14-dev libomp-14-dev)
missing=()
for pkg in "${packages[@]}"; do
  [ -e "${needs[$pkg]}" ] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing missing Debian packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "deps: hundun needs ${missing[*]}; install them with: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
for pkg in "${missing[@]}"; do
  [ -e "${needs[$pkg]}" ] || { echo "deps: $pkg was installed but ${needs[$pkg]} is still missing" >&2; exit 1; }
done
echo "deps: done"
