#!/usr/bin/env bash
# make demo: the lecture so far, in a couple of minutes — each lesson below runs with its default
# settings and writes its pictures under out/demo/<lesson>/. Ends with the list of pictures.
set -euo pipefail
build=${1:-build}
out=out/demo
demo_lessons=(01_probability 04_autograd 05_autoencoder 06_vae 07_ae_vs_vae 08_gan)

mkdir -p "$out"
ran=()
start=$SECONDS
for name in "${demo_lessons[@]}"; do
  bin="$build/lessons/$name"
  [ -x "$bin" ] || continue
  echo
  echo "################ lesson $name ################"
  "$bin" --out "$out/$name"
  ran+=("$name")
done

echo
echo "== demo finished in $((SECONDS - start)) s: lessons ${ran[*]} =="
echo "pictures (open them in a browser or image viewer):"
find "$out" -type f \( -name '*.png' -o -name '*.svg' \) | sort | sed 's/^/  /'
