// Follows a prefix of the store: one read of everything under it, then its watch. A watch
// that fell behind a compaction is never resumed past the lost changes: the follower reads
// the prefix again, hands the whole state over as a reset, and watches from that read's
// revision + 1 (a resume that skips events is the bug this class exists to avoid).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "roamgate/store/store.h"

namespace roamgate::store {

class StateFollower {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    // The whole state under the prefix at `snapshot.revision`; replaces what came before.
    virtual void reset(const Range& snapshot) = 0;
    // The changes of one or more revisions, in order.
    virtual void apply(const std::vector<Event>& events) = 0;
  };

  StateFollower(Store& store, std::string prefix) : store_(store), prefix_(std::move(prefix)) {}

  // Reads the prefix (a reset) and starts the watch after it.
  Status start(Handler& h);
  // Goes on from a state the handler already holds up to revision `applied`: watches from
  // applied + 1, and when those changes are compacted away, re-reads (a reset).
  Status resume(Handler& h, Revision applied);
  // Waits up to `timeout` for changes and applies them. A broken watch is resumed from the
  // last revision seen on the next poll; after a compaction, the prefix is read again.
  Status poll(Handler& h, std::chrono::milliseconds timeout);

  Revision revision() const { return revision_; }  // the last revision the handler has seen
  uint64_t resyncs() const { return resyncs_; }     // re-reads after a compaction
  const std::string& prefix() const { return prefix_; }

 private:
  Store& store_;
  std::string prefix_;
  std::unique_ptr<Watch> watch_;
  Revision revision_ = 0;
  uint64_t resyncs_ = 0;
};

}  // namespace roamgate::store
