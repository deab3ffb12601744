#include "imgvec/index/filter.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "imgvec/error.hpp"

namespace imgvec {

struct Filter::State {
  std::vector<Id> ids;  // sorted, unique; used when predicate is empty
  std::function<bool(Id)> predicate;
  std::optional<double> hint;
};

Filter Filter::allow(std::vector<Id> ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  auto state = std::make_shared<State>();
  state->ids = std::move(ids);
  return Filter(std::move(state));
}

Filter Filter::predicate(std::function<bool(Id)> predicate, std::optional<double> selectivity_hint) {
  if (!predicate) throw Error(ErrorCode::invalid_argument, "Filter::predicate: empty predicate");
  if (selectivity_hint && !(*selectivity_hint >= 0.0 && *selectivity_hint <= 1.0)) {
    throw Error(ErrorCode::invalid_argument,
                "Filter::predicate: selectivity_hint " + std::to_string(*selectivity_hint) +
                    " is outside [0, 1]");
  }
  auto state = std::make_shared<State>();
  state->predicate = std::move(predicate);
  state->hint = selectivity_hint;
  return Filter(std::move(state));
}

bool Filter::matches(Id id) const {
  if (state_->predicate) return state_->predicate(id);
  return std::binary_search(state_->ids.begin(), state_->ids.end(), id);
}

const std::vector<Id>* Filter::allow_list() const {
  return state_->predicate ? nullptr : &state_->ids;
}

std::optional<double> Filter::selectivity_hint() const { return state_->hint; }

}  // namespace imgvec
