// roamd: the daemon of one machine. Reads its configuration, opens the store, runs an agent
// per appliance, the session manager and the API, and stops cleanly on SIGTERM or SIGINT.
#include <signal.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>

#include "api.h"
#include "config.h"
#include "daemon.h"

#ifndef ROAMGATE_VERSION
#error "the build defines ROAMGATE_VERSION"
#endif

int main(int argc, char** argv) {
  roamd::Config cfg;
  bool help = false, version = false;
  roamgate::Status st = roamd::parseCommandLine(argc, argv, cfg, help, version);
  if (help) {
    std::fputs(roamd::kUsage, stdout);
    return 0;
  }
  if (version) {
    std::printf("roamd %s\n", ROAMGATE_VERSION);
    return 0;
  }
  if (!st.ok()) {
    std::fprintf(stderr, "roamd: %s (see roamd --help)\n", st.message().c_str());
    return 2;
  }
  // Logs go to stderr (the journal under systemd), one line each, with the level.
  auto logger = spdlog::stderr_logger_mt("roamd");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(cfg.logLevel));
  spdlog::flush_on(spdlog::level::trace);

  // SIGTERM and SIGINT are taken by sigwait below, not by a handler.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  if (cfg.store.rfind("sqlite:", 0) == 0) {
    std::filesystem::path dir = std::filesystem::path(cfg.store.substr(7)).parent_path();
    std::error_code ec;
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  }
  if (!cfg.api.empty()) {
    std::error_code ec;
    std::filesystem::path dir = std::filesystem::path(cfg.api).parent_path();
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  }

  roamd::Daemon daemon(cfg);
  if (roamgate::Status s = daemon.start(); !s.ok()) {
    spdlog::error("{}", s.message());
    if (s.code() == roamgate::StatusCode::kInvalidArgument) return 2;
    return s.code() == roamgate::StatusCode::kUnavailable ? 3 : 1;
  }
  roamd::ApiServer api;
  if (roamgate::Status s = api.start(daemon, cfg.api, cfg.apiTcp); !s.ok()) {
    spdlog::error("{}", s.message());
    return 1;
  }
  if (!cfg.api.empty()) chmod(cfg.api.c_str(), 0660);
  roamd::MetricsServer metrics;
  if (!cfg.metrics.empty()) {
    if (roamgate::Status s = metrics.start(daemon, cfg.metrics); !s.ok()) {
      spdlog::error("{}", s.message());
      return 1;
    }
  }
  spdlog::info("serving the API on unix:{}{}{}", cfg.api, cfg.apiTcp.empty() ? "" : " and ", cfg.apiTcp);
  int sig = 0;
  sigwait(&sigs, &sig);
  spdlog::info("{}: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  api.stop();
  daemon.stop();
  std::error_code ec;
  if (!cfg.api.empty()) std::filesystem::remove(cfg.api, ec);
  spdlog::info("stopped");
  return 0;
}
