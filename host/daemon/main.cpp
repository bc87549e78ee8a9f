// postd: the POST node daemon.  postd --config node.yaml
#include <csignal>
#include <iostream>

#include <CLI/CLI.hpp>

#include "host/core/log.h"
#include "host/daemon/daemon.h"
#include "host/daemon/node_config.h"

int main(int argc, char** argv) {
  // A write to a connection its peer reset must fail with EPIPE, not end the node: Asio
  // sends with MSG_NOSIGNAL, but plugins write to the sockets they are handed as they like.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"postd: a POST node (Pastry, PAST, Scribe and POST services for applications)"};
  std::string config_path;
  bool check_only = false;
  app.add_option("-c,--config", config_path,
                 "node configuration (YAML; see config/node.example.yaml)")
      ->required();
  app.add_flag("--check-config", check_only,
               "load and check the configuration and identity, then exit");
  app.set_version_flag("--version", "postd " POST_VERSION);
  CLI11_PARSE(app, argc, argv);

  auto config = post::daemon::load_node_config(config_path);
  if (!config.ok()) {
    std::cerr << "postd: " << config.error().message << "\n";
    return 2;
  }
  if (auto s = post::log::set_level(config->log.level); !s.ok()) {
    std::cerr << "postd: " << s.error().message << "\n";
    return 2;
  }
  if (config->log.file) {
    if (auto s = post::log::add_file_sink(config->log.file->string()); !s.ok()) {
      std::cerr << "postd: " << s.error().message << "\n";
      return 2;
    }
  }
  auto daemon = post::daemon::Daemon::create(std::move(*config));
  if (!daemon.ok()) {
    std::cerr << "postd: " << daemon.error().message << "\n";
    return 2;
  }
  if (check_only) {
    std::cout << "postd: " << config_path << " is valid; node " << (*daemon)->local().id.to_hex()
              << "\n";
    return 0;
  }
  post::log::set_node_tag("[" + (*daemon)->local().id.short_hex() + "] ");
  if (auto s = (*daemon)->start(); !s.ok()) {
    std::cerr << "postd: " << s.error().message << "\n";
    return 1;
  }
  (*daemon)->run();
  return 0;
}
