#include "roamgate/store/follower.h"

namespace roamgate::store {

Status StateFollower::start(Handler& h) {
  watch_.reset();
  Result<Range> r = store_.list(prefix_);
  if (!r.ok()) return r.status();
  Result<std::unique_ptr<Watch>> w = store_.watch(prefix_, r->revision + 1);
  if (!w.ok()) return w.status();
  watch_ = std::move(*w);
  revision_ = r->revision;
  h.reset(*r);
  return {};
}

Status StateFollower::resume(Handler& h, Revision applied) {
  watch_.reset();
  Result<std::unique_ptr<Watch>> w = store_.watch(prefix_, applied + 1);
  if (!w.ok()) {
    if (w.code() != StatusCode::kCompacted) return w.status();
    ++resyncs_;
    return start(h);
  }
  watch_ = std::move(*w);
  revision_ = applied;
  return {};
}

Status StateFollower::poll(Handler& h, std::chrono::milliseconds timeout) {
  if (!watch_) return revision_ == 0 ? start(h) : resume(h, revision_);
  Result<std::vector<Event>> ev = watch_->next(timeout);
  if (!ev.ok()) {
    watch_.reset();
    if (ev.code() != StatusCode::kCompacted) return ev.status();  // resumed on the next poll
    ++resyncs_;
    return start(h);
  }
  if (!ev->empty()) {
    revision_ = ev->back().kv.modRevision;
    h.apply(*ev);
  }
  return {};
}

}  // namespace roamgate::store
