#include "database/write_transaction.hpp"

#include <string>

#include "imgvec/error.hpp"

namespace imgvec::detail {

WriteTransaction::WriteTransaction(VectorDatabase::Impl& database) : db(database), lock_(database.lock) {
  db.refuse_if_read_only("change");
}

WriteTransaction::~WriteTransaction() = default;

void WriteTransaction::put(ImageRecord record, const std::vector<float>* vector) {
  db.log_put(record, vector);
  if (vector) db.index->add(record.id, VectorView(vector->data(), vector->size()));
  db.store.put(std::move(record));
}

void WriteTransaction::put_batch(std::vector<ImageRecord>& records, const std::vector<std::vector<float>>& vectors) {
  const std::size_t d = db.index->dimension();
  std::vector<float> rows;
  rows.reserve(records.size() * d);
  std::vector<Id> ids;
  ids.reserve(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (vectors[i].size() != d) {
      throw Error(ErrorCode::invalid_argument, "image " + std::to_string(records[i].id) + ": a " +
                                                   std::to_string(vectors[i].size()) + "-d vector, the index holds " +
                                                   std::to_string(d) + "-d");
    }
    rows.insert(rows.end(), vectors[i].begin(), vectors[i].end());
    ids.push_back(records[i].id);
  }
  for (std::size_t i = 0; i < records.size(); ++i) db.log_put(records[i], &vectors[i]);
  db.index->add_batch(ids, MatrixView(rows.data(), records.size(), d));
  for (ImageRecord& r : records) db.store.put(std::move(r));
}

void WriteTransaction::remove(Id id) {
  db.log_remove(id);
  db.store.remove(id);
  db.index->remove(id);
}

std::uint64_t WriteTransaction::commit_unsynced() {
  const std::uint64_t position = db.logged;
  lock_.unlock();
  return position;
}

void WriteTransaction::commit() { db.sync_log(commit_unsynced()); }

}  // namespace imgvec::detail
