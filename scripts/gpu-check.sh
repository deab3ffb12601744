#!/bin/bash
# Builds imgvec's CLI and CLIP module on a GPU machine against its PyTorch libtorch (2.x, CUDA) and
# checks that embeddings on CUDA equal those on the CPU. The GPU machine has PyTorch, GCC, CMake and
# ninja but none of Debian's packages and no network, so the header and small library packages are
# downloaded here first and carried in .gpu/debs (git-ignored):
#
#   mkdir -p .gpu/debs && (cd .gpu/debs && apt-get download libhnswlib-dev libcereal-dev libstb-dev \
#     libstb0 libutf8proc-dev libutf8proc2 libxxhash-dev nlohmann-json3-dev libcli11-dev pkgconf \
#     pkgconf-bin libpkgconf3 zlib1g-dev libturbojpeg0-dev libturbojpeg0 libjpeg62-turbo-dev \
#     libjpeg62-turbo libspng-dev libspng0) && cp scripts/gpu-check.sh .gpu/
#
# Then on the GPU machine, from the project root: OUT=$(mktemp -d) bash .gpu/gpu-check.sh
# (adapted from ../shared/device/gpu-check.sh for the dependencies imgvec has since gained).
set -u
export W=${TMPDIR:-/tmp}/imgvec-gpu
mkdir -p $W/deps "$OUT"
for f in .gpu/debs/*.deb; do dpkg -x "$f" $W/deps; done
export PATH=$W/deps/usr/bin:$PATH LD_LIBRARY_PATH=$W/deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
export PKG_CONFIG=$W/deps/usr/bin/pkgconf PKG_CONFIG_SYSROOT_DIR=$W/deps \
       PKG_CONFIG_PATH=$W/deps/usr/lib/x86_64-linux-gnu/pkgconfig:$W/deps/usr/share/pkgconfig
TP=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
python3 -c 'import torch;print("torch", torch.__version__, "cuda", torch.cuda.is_available())'; g++ --version | head -1
ZL=$(ls /lib/x86_64-linux-gnu/libz.so.1 /usr/lib/x86_64-linux-gnu/libz.so.1 2>/dev/null | head -1)
cmake -S . -B $W/b -G Ninja -DCMAKE_PREFIX_PATH="$TP;$W/deps/usr" -DIMGVEC_WITH_TORCH=ON -DIMGVEC_BUILD_TESTS=OFF \
  -DIMGVEC_BUILD_BENCH=OFF -DIMGVEC_BUILD_EXAMPLES=OFF -DZLIB_INCLUDE_DIR=$W/deps/usr/include -DZLIB_LIBRARY="$ZL" \
  > "$OUT/configure.log" 2>&1 || { echo "configure failed"; tail -20 "$OUT/configure.log"; exit 1; }
cmake --build $W/b --target imgvec_cli -j16 > "$OUT/build.log" 2>&1 || { echo "build failed"; grep -E "error" "$OUT/build.log" | head -30; exit 1; }
$W/b/imgvec --version
python3 tools/make_test_model.py --config ViT-B-32 --vocab tests/data/bpe_simple_vocab_16e6.txt.gz -o $W/vitb32.pt > /dev/null
args=(); for f in tests/data/images/*.jpg; do args+=("$f"); done
for dev in cuda cpu; do $W/b/imgvec embed --model $W/vitb32.pt --device $dev --image "${args[@]}" > $W/e_$dev.json 2> "$OUT/embed_$dev.err"; echo "embed $dev rc=$?"; done
python3 - <<'PY'
import json
import os
a, b = (json.load(open(os.path.join(os.environ['W'], f'e_{d}.json')))['images'] for d in ('cuda', 'cpu'))
ok = [(u, v) for u, v in zip(a, b) if 'embedding' in u and 'embedding' in v]
cs = [sum(x * y for x, y in zip(u['embedding'], v['embedding'])) for u, v in ok]
print('images embedded on both', len(ok), 'of', len(a), '; min cosine cuda vs cpu', min(cs) if cs else None)
PY
