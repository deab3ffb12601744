#pragma once
// A database's encoder, loaded when first needed. A CLIP model takes libtorch and about a second
// to load (a ViT-B/32 bundle longer), yet most calls embed nothing: stats, metadata, tags,
// removal, exports, search by a stored image, duplicates. These run on the fingerprint the
// manifest holds and never load the model (issue 20: `imgvec stats` on a CLIP database took 1 s).

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "imgvec/encoder/encoder.hpp"

namespace imgvec::detail {

class EncoderSlot {
 public:
  using Loader = std::function<std::shared_ptr<Encoder>()>;

  /// An encoder already loaded (create, or open with an encoder given).
  void hold(std::shared_ptr<Encoder> encoder);
  /// An encoder to load on first use: `load` makes it, and it must have `expected` (the
  /// database's fingerprint) or get() throws Error(incompatible) naming `directory`.
  /// `loaded_hook` runs once after a successful load (the database remembers the bundle then).
  void defer(EncoderFingerprint expected, std::string directory, Loader load,
             std::function<void()> loaded_hook = {});

  const EncoderFingerprint& fingerprint() const noexcept { return fingerprint_; }
  std::size_t dimension() const noexcept { return fingerprint_.dimension; }
  bool loaded() const noexcept { return ready_.load(std::memory_order_acquire) != nullptr; }

  /// The encoder, loading it now if it is not yet (once; safe from several threads: the others
  /// wait for the load). A failed load throws and is tried again by the next call.
  Encoder& get() const;
  /// get(), shared: the encoder then outlives the database while the caller holds it.
  std::shared_ptr<Encoder> shared() const {
    get();
    return encoder_;  // set once, before ready_ is published
  }

 private:
  EncoderFingerprint fingerprint_;
  std::string directory_;
  Loader load_;
  std::function<void()> loaded_hook_;
  mutable std::mutex load_mutex_;
  mutable std::shared_ptr<Encoder> encoder_;
  mutable std::atomic<Encoder*> ready_{nullptr};
};

}  // namespace imgvec::detail
