// Whole-buffer send and receive on a stream socket, for both ends of the simulator socket.
// sendAll/recvAll: a non-blocking socket waits in poll() (up to 1 s at a time) rather than
// failing. sendAllWithin/recvAllWithin: give up when the peer moves no byte for `timeoutMs`.
#pragma once

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstddef>

namespace roamgate::hal {

inline bool sendAll(int fd, const void* p, size_t n) {
  const char* c = static_cast<const char*>(p);
  while (n > 0) {
    ssize_t k = ::send(fd, c, n, MSG_NOSIGNAL);
    if (k < 0 && (errno == EINTR || errno == EAGAIN)) {
      pollfd q{fd, POLLOUT, 0};
      ::poll(&q, 1, 1000);
      continue;
    }
    if (k <= 0) return false;
    c += k;
    n -= size_t(k);
  }
  return true;
}

inline bool recvAll(int fd, void* p, size_t n) {
  char* c = static_cast<char*>(p);
  while (n > 0) {
    ssize_t k = ::recv(fd, c, n, 0);
    if (k < 0 && (errno == EINTR || errno == EAGAIN)) {
      pollfd q{fd, POLLIN, 0};
      ::poll(&q, 1, 1000);
      continue;
    }
    if (k <= 0) return false;
    c += k;
    n -= size_t(k);
  }
  return true;
}

enum class IoResult { kOk, kClosed, kTimedOut };

namespace detail {
// Moves `n` bytes with `move` (send or recv, never blocking), waiting in poll() for `events`
// at most `timeoutMs` between two bytes that moved.
template <class Move>
IoResult transferWithin(int fd, size_t n, short events, int timeoutMs, Move move) {
  using Clock = std::chrono::steady_clock;
  auto deadline = Clock::now() + std::chrono::milliseconds(timeoutMs);
  while (n > 0) {
    ssize_t k = move(n);
    if (k > 0) {
      n -= size_t(k);
      deadline = Clock::now() + std::chrono::milliseconds(timeoutMs);
      continue;
    }
    if (k == 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) return IoResult::kClosed;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return IoResult::kTimedOut;
    pollfd q{fd, events, 0};
    ::poll(&q, 1, int(left));
  }
  return IoResult::kOk;
}
}  // namespace detail

inline IoResult sendAllWithin(int fd, const void* p, size_t n, int timeoutMs) {
  const char* c = static_cast<const char*>(p);
  return detail::transferWithin(fd, n, POLLOUT, timeoutMs, [&](size_t left) {
    ssize_t k = ::send(fd, c, left, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (k > 0) c += k;
    return k;
  });
}

inline IoResult recvAllWithin(int fd, void* p, size_t n, int timeoutMs) {
  char* c = static_cast<char*>(p);
  return detail::transferWithin(fd, n, POLLIN, timeoutMs, [&](size_t left) {
    ssize_t k = ::recv(fd, c, left, MSG_DONTWAIT);
    if (k > 0) c += k;
    return k;
  });
}

}  // namespace roamgate::hal
