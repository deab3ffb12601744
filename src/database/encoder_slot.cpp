#include "database/encoder_slot.hpp"

#include "imgvec/error.hpp"

namespace imgvec::detail {

void EncoderSlot::hold(std::shared_ptr<Encoder> encoder) {
  fingerprint_ = encoder->fingerprint();
  encoder_ = std::move(encoder);
  ready_.store(encoder_.get(), std::memory_order_release);
}

void EncoderSlot::defer(EncoderFingerprint expected, std::string directory, Loader load,
                        std::function<void()> loaded_hook) {
  fingerprint_ = std::move(expected);
  directory_ = std::move(directory);
  load_ = std::move(load);
  loaded_hook_ = std::move(loaded_hook);
}

Encoder& EncoderSlot::get() const {
  if (Encoder* e = ready_.load(std::memory_order_acquire)) return *e;
  std::lock_guard<std::mutex> guard(load_mutex_);
  if (!encoder_) {
    std::shared_ptr<Encoder> made = load_();
    if (made->fingerprint() != fingerprint_) {
      throw Error(ErrorCode::incompatible,
                  directory_ + ": built with encoder [" + fingerprint_.to_string() + "], but its model is [" +
                      made->fingerprint().to_string() +
                      "]; give the model bundle the database was built with (--model, or model= in Python)");
    }
    encoder_ = std::move(made);
    if (loaded_hook_) loaded_hook_();
    ready_.store(encoder_.get(), std::memory_order_release);
  }
  return *encoder_;
}

}  // namespace imgvec::detail
