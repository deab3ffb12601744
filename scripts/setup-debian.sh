#!/usr/bin/env bash
# Installs every Debian package imgvec's build, tests and benchmarks need. Debian 12 (bookworm).
#   scripts/setup-debian.sh           the core library, tests, benchmarks, examples
#   scripts/setup-debian.sh --torch   also libtorch for the CLIP encoder (imgvec::imgvec), and the
#                                     Python (torch, torchvision, PIL) that makes test models and
#                                     the reference outputs the tests compare against
#   scripts/setup-debian.sh --bench   also gnuplot, for bench/report.py's plots
#   scripts/setup-debian.sh --fuzz    also clang and libFuzzer, for tests/fuzz
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libhnswlib-dev   # HNSW graph (0.6.2), header-only
  libxxhash-dev    # file checksums, used header-only
  libutf8proc-dev zlib1g-dev   # the CLIP tokenizer: Unicode data, the gzipped merges file
  libcereal-dev libeigen3-dev libstb-dev
  libturbojpeg0-dev libspng-dev libgif-dev   # JPEG, PNG and GIF decoding (stb_image keeps BMP, TGA, PSD, HDR)
  libwebp-dev libtiff-dev libheif-dev   # WebP, TIFF, HEIC and AVIF decoding
  libexif-dev                           # EXIF facts: date taken, camera, lens, GPS
  libcurl4-openssl-dev                  # images from URLs
  libssl-dev                            # SHA-256 names of uploaded images' files (libcrypto)
  libopencv-calib3d-dev libopencv-features2d-dev   # verifying duplicates (ORB, RANSAC), a module
  libfaiss-dev     # benchmark peer only (Faiss 1.7.3, static)
  nlohmann-json3-dev   # model bundle config, JSON output; header-only, private
  libcli11-dev         # the imgvec CLI's arguments; header-only
  libcpp-httplib-dev   # imgvec serve
  pybind11-dev python3-dev python3-numpy python3-pytest   # the Python module and its tests
  python3-distributed  # imgvec.dask: embedding on a Dask cluster, and its test
  catch2 libbenchmark-dev
  chromium chromium-driver python3-selenium python3-pil   # the page's browser test; the server tests
  curl                 # the server tests run the curl commands of docs/server.md as written
  postgresql-15 postgresql-server-dev-15   # the pgvector test: a real PostgreSQL, and pgvector built for it
)
for arg in "$@"; do
  case "$arg" in
    --torch)
      # Debian's libtorch calls the system BLAS; the default reference BLAS makes a ViT-B/32
      # forward about 25x slower than OpenBLAS (3.9 s vs 0.15 s per image measured). libdnnl-dev:
      # oneDNN's headers, for linear layers with their weights packed once (onednn_inner_product.hpp).
      packages+=(libtorch-dev libdnnl-dev libopenblas0-openmp python3-torch python3-torchvision python3-pil
                 python3-numpy) ;;
    --bench) packages+=(gnuplot-nox) ;;
    --fuzz) packages+=(clang libfuzzer-14-dev libclang-rt-14-dev) ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# pgvector is not packaged by Debian 12: the test of docs/scale-out.md (tests/pgvector_test.py) builds
# the vendored source (third_party/pgvector) and installs it into PostgreSQL 15's folders, once.
# OPTFLAGS="" drops pgvector's default -march=native, as for anything this project builds.
pg_config=/usr/lib/postgresql/15/bin/pg_config
if [ ! -f "$("$pg_config" --sharedir)/extension/vector--0.8.6.sql" ]; then
  work=$(mktemp -d)
  tar xzf "$(dirname "$0")/../third_party/pgvector/pgvector-0.8.6.tar.gz" -C "$work"
  make -s -C "$work/pgvector-0.8.6" PG_CONFIG="$pg_config" OPTFLAGS="" -j2
  $sudo make -s -C "$work/pgvector-0.8.6" PG_CONFIG="$pg_config" OPTFLAGS="" install
  rm -rf "$work"
fi
echo "imgvec build dependencies are installed."
