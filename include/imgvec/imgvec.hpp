#pragma once
// The umbrella header: everything in imgvec's public API.

#include "imgvec/database.hpp"
#include "imgvec/error.hpp"
#include "imgvec/export.hpp"
#include "imgvec/image/image.hpp"
#include "imgvec/image/photo_match.hpp"
#include "imgvec/image/preprocess.hpp"
#include "imgvec/encoder/clip_module.hpp"
#include "imgvec/encoder/descriptor_encoder.hpp"
#include "imgvec/encoder/encoder.hpp"
#ifdef IMGVEC_HAS_CLIP_ENCODER
#include "imgvec/encoder/clip_encoder.hpp"
#endif
#include "imgvec/index/filter.hpp"
#include "imgvec/metadata/metadata_store.hpp"
#include "imgvec/metadata/where.hpp"
#include "imgvec/path_text.hpp"
#include "imgvec/index/flat_index.hpp"
#include "imgvec/index/hnsw_index.hpp"
#include "imgvec/index/index.hpp"
#include "imgvec/text/clip_tokenizer.hpp"
#include "imgvec/types.hpp"
#include "imgvec/version.hpp"
