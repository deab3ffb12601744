#include "database/write_transaction.hpp"

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
