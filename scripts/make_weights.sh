#!/usr/bin/env bash
# make weights: trains the project's shipped weights with fixed seeds and writes weights/README.md.
#
#   scripts/make_weights.sh [build/hundun] [NAME ...]   (what `make weights` runs; about 40 minutes on 2 quiet cores)
#
# With NAMEs (`make weights WEIGHTS="gan cgan"`) only those are trained again; the README keeps the other files'
# sections as they were. With JOBS=N (`make weights JOBS=2`) up to N trainings run at once, one thread each
# (OMP_NUM_THREADS=1): on a shared machine two one-thread runs lose less to waiting than one two-thread run.
#
# Each model is trained by `hundun train ...` into out/weights/<name>/ (checkpoint, log, pictures), then
# `hundun export` strips the checkpoint to the model's weights and metadata (no optimizer state) into
# weights/<name>.safetensors, and `hundun eval ...` measures it. The README records, per file, the exact
# command, the seed, the training time and the evaluation's output. tests/test_weights.cpp checks the
# files against the code afterwards.
set -euo pipefail
hundun=${1:-build/hundun}
only=("${@:2}")
work=out/weights
readme=weights/README.md
mkdir -p weights "$work"

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
code=$(git describe --always --dirty 2>/dev/null || echo "unknown")
sections=()

jobs=${JOBS:-1}
running=()

# run_training NAME SEED TRAIN_ARGS...: one training, its export, and its wall time into $work/NAME.seconds.
run_training() {
  local name=$1 seed=$2; shift 2
  rm -rf "${work:?}/$name"  # no pictures of an older run mixed in
  local start=$EPOCHREALTIME
  "$hundun" "$@" --seed "$seed" --out "$work/$name" | tee "$work/$name.train.txt"
  awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.0f", b - a}' >"$work/$name.seconds"
  "$hundun" export --ckpt "$work/$name/checkpoint.safetensors" --out "weights/$name.safetensors"
}

# train NAME SEED TRAIN_ARGS...: trains (in the background when JOBS > 1), exports, and remembers the command.
train() {
  local name=$1 seed=$2; shift 2
  wanted "$name" || return 0
  local command="hundun $* --seed $seed --out $work/$name"
  echo
  echo "################ weights/$name.safetensors: $command"
  trained_seed[$name]=$seed
  trained_command[$name]=$command
  ((jobs > 1)) && trained_command[$name]="OMP_NUM_THREADS=1 $command"
  if ((jobs > 1)); then
    while ((${#running[@]} >= jobs)); do finish_one; done
    OMP_NUM_THREADS=1 run_training "$name" "$seed" "$@" >"$work/$name.console.txt" 2>&1 &
    running+=($!)
  else
    run_training "$name" "$seed" "$@"
  fi
}
# finish_one: waits for the oldest background training; a failed one stops the script.
finish_one() {
  wait "${running[0]}" || { echo "make_weights: a training failed (see $work/*.console.txt)" >&2; exit 1; }
  running=("${running[@]:1}")
}
declare -A trained_command trained_seed

# wanted NAME: true when NAME is to be trained in this run (all of them when no NAME was given).
wanted() {
  [[ ${#only[@]} -eq 0 ]] && return 0
  local n
  for n in "${only[@]}"; do [[ $n == "$1" ]] && return 0; done
  return 1
}
# old_section NAME: NAME's section of the README as it is, from its heading to the next one.
old_section() {
  [[ -f $readme ]] || return 0
  awk -v h="## \`$1.safetensors\`" 'index($0, h) == 1 { p = 1; print; next } p && /^## / { p = 0 } p' "$readme"
}

# section NAME WHAT EVAL_ARGS...: evaluates weights/NAME.safetensors and adds its part of the README.
section() {
  local name=$1 what=$2; shift 2
  if ! wanted "$name"; then
    sections+=("$(old_section "$name")
")
    return 0
  fi
  local eval_command="hundun $* --ckpt weights/$name.safetensors"
  local result
  result=$("$hundun" "$@" --ckpt "weights/$name.safetensors")
  echo "$result"
  local size
  size=$(awk -v b="$(stat -c %s "weights/$name.safetensors")" 'BEGIN{printf "%.2f", b / 1e6}')
  local last_epoch
  last_epoch=$(grep '^epoch ' "$work/$name.train.txt" | tail -1)
  sections+=("## \`$name.safetensors\` — $what

- trained by: \`${trained_command[$name]}\`, then \`hundun export\` (weights and metadata only, $size MB)
- seed: ${trained_seed[$name]}
- training time: $(cat "$work/$name.seconds") s (wall clock, including the per-epoch test pass and pictures)
- last epoch: \`$last_epoch\`
- evaluated by: \`$eval_command\`

\`\`\`
$result
\`\`\`
")
}

total_start=$SECONDS
train classifier 0 train classifier --model cnn --epochs 5
train ae 1 train ae --epochs 10
train vae 1 train vae --epochs 10
train vae2d 1 train vae --latent 2 --epochs 10
train gan 1 train gan --epochs 5
train cgan 1 train gan --conditional --epochs 5

while ((${#running[@]} > 0)); do finish_one; done
echo
echo "################ evaluating the shipped weights"
section classifier "the CNN judge of models/classifier.h (Fréchet distance features, class coverage)" eval classifier
section ae "the MLP autoencoder of models/autoencoder.h, 784-400-20-400-784" eval ae --classifier weights/classifier.safetensors
section vae "pytorch/examples' VAE of models/vae.h, 784-400-20, Bernoulli decoder, 10 epochs" eval vae --classifier weights/classifier.safetensors
section vae2d "the same VAE with a 2-D latent space (a drawable map)" eval vae --classifier weights/classifier.safetensors
section gan "the DCGAN-28 of models/gan.h, non-saturating loss, 5 epochs" eval gan --classifier weights/classifier.safetensors
section cgan "the same DCGAN, class-conditional (sample gan --class K)" eval gan --classifier weights/classifier.safetensors

{
  cat <<EOF
# Shipped weights

Written by \`make weights\` (scripts/make_weights.sh) on $(date -u +%Y-%m-%d), code \`$code\`,
$(nproc) cores ($cpu), $((SECONDS - total_start)) s in all$([[ ${#only[@]} -gt 0 ]] && echo " for ${only[*]} (the other files' sections are from earlier runs)"). Every number below is the output of
the command shown; the training runs' logs, loss curves and per-epoch pictures are in \`$work/\`
(not committed). Training times depend on what else the machine was doing.

Each file is a checkpoint (nn/checkpoint.h) holding the model's weights and, as metadata, which model it
is and the run's settings and history; the optimizer's state is stripped (\`hundun export\`), so the
files cannot be \`--resume\`d. They are what the lessons load (\`--pretrained\`) and what \`hundun eval\`
judges with (\`weights/classifier.safetensors\` is its default \`--classifier\`). Try, for example:

    build/hundun sample vae --ckpt weights/vae.safetensors -n 64 --out vae_samples.png
    build/hundun sample ae --ckpt weights/ae.safetensors -n 64 --out ae_samples.png
    build/hundun interpolate vae --ckpt weights/vae2d.safetensors --out walk.png
    build/hundun sample gan --ckpt weights/gan.safetensors -n 64 --out gan_samples.png
    build/hundun sample gan --ckpt weights/cgan.safetensors --class 7 -n 64 --out sneakers.png
    build/hundun interpolate gan --ckpt weights/gan.safetensors --out gan_walk.png

\`tests/test_weights.cpp\` loads every file and checks its metric on a part of the test set, so the
weights cannot silently go stale against the code; after changing a model, run \`make weights\` again.

EOF
  for s in "${sections[@]}"; do echo "$s"; done
} >"$readme"
echo
echo "wrote $readme"
ls -l weights/
