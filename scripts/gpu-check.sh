#!/bin/bash
# Builds imgvec's CLI and CLIP module on a GPU machine against its PyTorch libtorch (2.x, CUDA),
# checks that embeddings on CUDA (float32, fp16, bf16) agree with those on the CPU, and runs the
# files-to-vectors benchmark (bench/index_throughput.py: imgvec index vs the Python DataLoader
# pipeline vs the model alone, float32 and fp16). The GPU machine has PyTorch, GCC, CMake and
# ninja but none of Debian's packages and no network, so the header and small library packages
# are downloaded here first and carried in .gpu/debs (git-ignored):
#
#   mkdir -p .gpu/debs && (cd .gpu/debs && apt-get download libhnswlib-dev libcereal-dev libstb-dev \
#     libstb0 libutf8proc-dev libutf8proc2 libxxhash-dev nlohmann-json3-dev libcli11-dev pkgconf \
#     pkgconf-bin libpkgconf3 zlib1g-dev libturbojpeg0-dev libturbojpeg0 libjpeg62-turbo-dev \
#     libjpeg62-turbo libspng-dev libspng0 libgif-dev libgif7 libssl-dev libssl3 libcpp-httplib-dev \
#     libcpp-httplib0.11 libbrotli-dev libbrotli1) && cp scripts/gpu-check.sh .gpu/
#
# Then on the GPU machine, from the project root: OUT=$(mktemp -d) bash .gpu/gpu-check.sh
# (the device tool: run with carry [".gpu"]). Everything it prints is also in $OUT.
set -u
export W=${TMPDIR:-/tmp}/imgvec-gpu
mkdir -p $W/deps "$OUT"
exec > >(tee "$OUT/gpu-check.log") 2>&1
for f in .gpu/debs/*.deb; do dpkg -x "$f" $W/deps; done
export PATH=$W/deps/usr/bin:$PATH LD_LIBRARY_PATH=$W/deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
export PKG_CONFIG=$W/deps/usr/bin/pkgconf PKG_CONFIG_SYSROOT_DIR=$W/deps \
       PKG_CONFIG_PATH=$W/deps/usr/lib/x86_64-linux-gnu/pkgconfig:$W/deps/usr/share/pkgconfig
TP=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
python3 -c 'import torch;print("torch", torch.__version__, "cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")'
g++ --version | head -1; nproc; lscpu | grep -E 'Model name|L3'
ZL=$(ls /lib/x86_64-linux-gnu/libz.so.1 /usr/lib/x86_64-linux-gnu/libz.so.1 2>/dev/null | head -1)
SECONDS=0
cmake -S . -B $W/b -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$TP;$W/deps/usr" -DIMGVEC_WITH_TORCH=ON \
  -DIMGVEC_BUILD_TESTS=OFF -DIMGVEC_BUILD_BENCH=OFF -DIMGVEC_BUILD_EXAMPLES=OFF -DZLIB_INCLUDE_DIR=$W/deps/usr/include \
  -DZLIB_LIBRARY="$ZL" -DOPENSSL_ROOT_DIR=$W/deps/usr > "$OUT/configure.log" 2>&1 \
  || { echo "configure failed"; tail -30 "$OUT/configure.log"; exit 1; }
cmake --build $W/b --target imgvec_cli -j$(nproc) -- -k 0 > "$OUT/build.log" 2>&1 \
  || { echo "build failed"; grep -E -A3 "error|undefined" "$OUT/build.log" | head -80; exit 1; }
echo "built in $SECONDS s"
$W/b/imgvec --version
python3 tools/make_test_model.py --config ViT-B-32 --vocab tests/data/bpe_simple_vocab_16e6.txt.gz -o $W/vitb32.pt > /dev/null
args=(); for f in tests/data/images/*.jpg tests/data/images/*.png; do args+=("$f"); done
for run in cpu:float32 cuda:float32 cuda:fp16 cuda:bf16; do
  dev=${run%%:*} prec=${run##*:}
  $W/b/imgvec embed --model $W/vitb32.pt --device $dev --precision $prec --image "${args[@]}" > $W/e_${dev}_${prec}.json \
    2> "$OUT/embed_${dev}_$prec.err"
  echo "embed images $dev $prec rc=$? $(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['runtime'])" $W/e_${dev}_${prec}.json 2>/dev/null)"
  $W/b/imgvec embed --model $W/vitb32.pt --device $dev --precision $prec --text "a photo of a dog playing in the snow" \
    > $W/t_${dev}_${prec}.json 2>> "$OUT/embed_${dev}_$prec.err"
done
python3 - <<'PY'
import json
import os
W = os.environ['W']
def load(kind, run):
    try:
        j = json.load(open(os.path.join(W, f'{kind}_{run}.json')))
    except Exception as e:
        return None
    return j['images'] if kind == 'e' else [j]
ref_i, ref_t = load('e', 'cpu_float32'), load('t', 'cpu_float32')
for run in ('cuda_float32', 'cuda_fp16', 'cuda_bf16'):
    img, txt = load('e', run), load('t', run)
    if img is None or ref_i is None:
        print(run, 'no output'); continue
    ok = [(u, v) for u, v in zip(img, ref_i) if 'embedding' in u and 'embedding' in v]
    cs = [sum(x * y for x, y in zip(u['embedding'], v['embedding'])) for u, v in ok]
    ct = sum(x * y for x, y in zip(txt[0]['embedding'], ref_t[0]['embedding'])) if txt and ref_t else None
    print(f'{run} vs cpu float32: {len(ok)} of {len(img)} images embedded on both; min image cosine',
          min(cs) if cs else None, '; text cosine', ct)
PY
python3 bench/index_throughput.py --build $W/b --model $W/vitb32.pt --device cuda --rounds 2 --json "$OUT/index_throughput.json"
echo "done in $SECONDS s"
