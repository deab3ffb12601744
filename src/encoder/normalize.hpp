#pragma once

#include <cmath>
#include <cstddef>

namespace imgvec::detail {

/// Scales each row to unit L2 norm (in double, so 512-d sums do not lose bits); zero rows stay zero.
inline void normalize_rows(float* v, std::size_t rows, std::size_t dim) {
  for (std::size_t r = 0; r < rows; ++r) {
    float* row = v + r * dim;
    double sum = 0;
    for (std::size_t i = 0; i < dim; ++i) sum += static_cast<double>(row[i]) * row[i];
    if (sum > 0) {
      const auto inv = static_cast<float>(1.0 / std::sqrt(sum));
      for (std::size_t i = 0; i < dim; ++i) row[i] *= inv;
    }
  }
}

}  // namespace imgvec::detail
