#include "imgvec/encoder/encoder.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "encoder/normalize.hpp"
#include "parallel/parallel.hpp"

namespace imgvec {
namespace {

using detail::normalize_rows;

// Decode workers yield to the model's threads: libtorch's OpenMP threads wait for each other at
// every operator, so a decoder preempting one of them stalls all of them. On 2 cores, where the
// model alone keeps both busy, nice 10 took ViT-B/32 end to end from 38-41 to 37-38 ms/image
// (model 33 + decoding 3.7: the overlap cannot hide work when no core is idle).
void lower_thread_priority() {
#ifdef __linux__
  setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10);
#endif
}

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// A batch being filled by the decode workers or run by the model.
struct Slot {
  std::size_t batch = 0;      // which batch the slot holds now
  std::size_t pending = 0;    // its files not yet decoded
  std::shared_ptr<float> inputs;  // batch_size x input_floats, from Encoder::input_buffer
  std::vector<ImageEmbedding> failures;  // per position; error empty when decoded
};

}  // namespace

std::string EncoderFingerprint::to_string() const {
  return "kind=" + kind + "; model=" + model + "; hash=" + (model_hash.empty() ? "-" : model_hash) +
         "; dimension=" + std::to_string(dimension) + "; preprocessing=" + preprocessing;
}

Encoder::Encoder(EncoderFingerprint fingerprint, std::size_t input_floats)
    : fingerprint_(std::move(fingerprint)), input_floats_(input_floats) {}

void Encoder::set_batch_size(std::size_t n) {
  if (n == 0) throw Error(ErrorCode::invalid_argument, "set_batch_size: the batch size must be >= 1");
  batch_size_ = n;
}

void Encoder::set_pipeline_threads(std::size_t n) {
  if (n == 0) {
    throw Error(ErrorCode::invalid_argument, "set_pipeline_threads: at least one thread is needed");
  }
  pipeline_threads_ = n;
}

std::shared_ptr<float> Encoder::input_buffer(std::size_t floats) const {
  return std::shared_ptr<float>(new float[floats], std::default_delete<float[]>());
}

DecodeOptions Encoder::decode_options(DecodeOptions base) const {
  if (base.min_side == 0 && fast_decode_) base.min_side = decode_side();
  return base;
}

void Encoder::run_texts(const std::vector<std::string>&, float*) {
  throw Error(ErrorCode::unsupported,
              "this encoder (" + fingerprint_.kind + ") embeds images only, not text");
}

std::vector<float> Encoder::embed_images(const Image* images, std::size_t count) {
  const std::size_t dim = dimension();
  std::vector<float> out(count * dim);
  std::vector<float> inputs;
  for (std::size_t first = 0; first < count; first += batch_size_) {
    const std::size_t n = std::min(batch_size_, count - first);
    inputs.resize(n * input_floats_);
    for (std::size_t i = 0; i < n; ++i) prepare_image(images[first + i], &inputs[i * input_floats_]);
    run_images(inputs.data(), n, &out[first * dim]);
  }
  normalize_rows(out.data(), count, dim);
  return out;
}

std::vector<float> Encoder::embed_texts(const std::vector<std::string>& texts) {
  if (!supports_text()) run_texts(texts, nullptr);  // throws the encoder's own message
  std::vector<float> out(texts.size() * dimension());
  if (!texts.empty()) run_texts(texts, out.data());
  normalize_rows(out.data(), texts.size(), dimension());
  return out;
}

std::vector<ImageEmbedding> Encoder::embed_image_files(const std::vector<std::string>& paths,
                                                       const EmbedFilesOptions& options) {
  const DecodeOptions decode = decode_options(options.decode);
  return embed_made_images(
      paths,
      [&](std::size_t i, Image& image) {
        const std::vector<std::uint8_t> bytes = read_image_file(paths[i], decode);
        image = decode_image(bytes.data(), bytes.size(), paths[i], decode);
      },
      options);
}

// Decode workers claim images in order and fill the slot of the image's batch; the calling thread
// runs the model on each batch once all its images are in, then hands the slot to the batch
// kSlots further on. Workers wait only when they are kSlots batches ahead of the model.
std::vector<ImageEmbedding> Encoder::embed_made_images(const std::vector<std::string>& paths,
                                                       const std::function<void(std::size_t, Image&)>& make,
                                                       const EmbedFilesOptions& options) {
  constexpr std::size_t kSlots = 3;
  const std::size_t total = paths.size(), bs = batch_size_, dim = dimension();
  const std::size_t batches = (total + bs - 1) / bs;
  std::vector<ImageEmbedding> results(total);
  if (total == 0) return results;
  auto batch_files = [&](std::size_t b) { return std::min(bs, total - b * bs); };

  const auto started = Clock::now();
  double model_seconds = 0, waiting_seconds = 0;
  std::size_t embedded = 0;
  Slot slots[kSlots];
  for (std::size_t k = 0; k < kSlots; ++k) {
    slots[k].batch = k;
    slots[k].pending = k < batches ? batch_files(k) : 0;
    // Only as many buffers as there are batches, no bigger than the run: a one-image call
    // allocates one image's worth whatever the batch size.
    if (k < batches) slots[k].inputs = input_buffer(std::min(bs, total) * input_floats_);
    slots[k].failures.resize(bs);
  }
  std::mutex mutex;
  std::condition_variable changed;
  std::atomic<std::size_t> next{0};
  bool stop = false;

  auto worker = [&] {
    lower_thread_priority();
    for (;;) {
      const std::size_t i = next.fetch_add(1);
      if (i >= total) return;
      const std::size_t b = i / bs, pos = i % bs;
      Slot& slot = slots[b % kSlots];
      {
        std::unique_lock<std::mutex> lock(mutex);
        changed.wait(lock, [&] { return stop || slot.batch == b; });
        if (stop) return;
      }
      ImageEmbedding& failure = slot.failures[pos];
      failure = ImageEmbedding{};
      try {
        Image image;
        make(i, image);
        failure.width = image.file_width();
        failure.height = image.file_height();
        failure.format = image.format;
        prepare_image(image, slot.inputs.get() + pos * input_floats_);
      } catch (const Error& e) {
        failure.code = e.code();
        failure.error = e.what();
      } catch (const std::exception& e) {
        failure.code = ErrorCode::io;
        failure.error = paths[i] + ": " + e.what();
      }
      std::lock_guard<std::mutex> lock(mutex);
      if (--slot.pending == 0) changed.notify_all();
    }
  };

  const std::size_t nthreads = std::min(pipeline_threads_, total);
  detail::ThreadTeam team(nthreads, 0, [&](std::size_t) { worker(); });
  struct Stopper {  // on every way out, exceptions included, before the team joins its workers
    std::mutex& mutex;
    std::condition_variable& changed;
    bool& stop;
    ~Stopper() {
      {
        std::lock_guard<std::mutex> lock(mutex);
        stop = true;
      }
      changed.notify_all();
    }
  } stopper{mutex, changed, stop};

  std::vector<float> out(bs * dim);
  for (std::size_t b = 0; b < batches; ++b) {
    if (options.cancel && options.cancel()) {
      for (std::size_t i = b * bs; i < total; ++i) {
        results[i].cancelled = true;
        results[i].code = ErrorCode::io;
        results[i].error = paths[i] + ": not embedded, the run was cancelled";
      }
      break;  // the stopper stops the workers
    }
    Slot& slot = slots[b % kSlots];
    {
      const auto wait_started = Clock::now();
      std::unique_lock<std::mutex> lock(mutex);
      changed.wait(lock, [&] { return slot.pending == 0; });
      waiting_seconds += seconds_since(wait_started);
    }
    // Run the model on the decoded files only, packed to the front of the batch.
    const std::size_t n = batch_files(b);
    std::vector<std::size_t> good;
    for (std::size_t p = 0; p < n; ++p) {
      if (!slot.failures[p].ok()) {
        results[b * bs + p] = std::move(slot.failures[p]);
        continue;
      }
      if (good.size() != p) {
        std::copy_n(slot.inputs.get() + p * input_floats_, input_floats_,
                    slot.inputs.get() + good.size() * input_floats_);
      }
      good.push_back(p);
    }
    if (!good.empty()) {
      try {
        const auto model_started = Clock::now();
        run_images(slot.inputs.get(), good.size(), out.data());
        model_seconds += seconds_since(model_started);
        embedded += good.size();
        normalize_rows(out.data(), good.size(), dim);
        for (std::size_t g = 0; g < good.size(); ++g) {
          ImageEmbedding& r = results[b * bs + good[g]];
          const ImageEmbedding& decoded = slot.failures[good[g]];
          r.width = decoded.width;
          r.height = decoded.height;
          r.format = decoded.format;
          r.vector.assign(&out[g * dim], &out[(g + 1) * dim]);
        }
      } catch (const std::exception& e) {
        for (std::size_t p : good) {
          ImageEmbedding& r = results[b * bs + p];
          r.code = ErrorCode::io;
          r.error = paths[b * bs + p] + ": the model failed on its batch: " + e.what();
        }
      }
    }
    {
      std::lock_guard<std::mutex> lock(mutex);
      slot.batch = b + kSlots;
      slot.pending = b + kSlots < batches ? batch_files(b + kSlots) : 0;
    }
    changed.notify_all();
    if (options.progress) options.progress(std::min(total, (b + 1) * bs), total);
  }
  if (options.stats) {
    options.stats->images += embedded;
    options.stats->seconds += seconds_since(started);
    options.stats->model_seconds += model_seconds;
    options.stats->waiting_seconds += waiting_seconds;
  }
  return results;
}

}  // namespace imgvec
