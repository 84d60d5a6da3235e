// Whole-buffer send and receive on a stream socket, for both ends of the simulator socket.
// A non-blocking socket waits in poll() (up to 1 s at a time) rather than failing.
#pragma once

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
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

}  // namespace roamgate::hal
