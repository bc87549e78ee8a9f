// The smallest useful plugin: says hello when it starts and counts its starts across reloads.
#include <post/sdk.hpp>

class Hello final : public post::sdk::Plugin {
 public:
  explicit Hello(post::sdk::Host& host) : Plugin(host) {}
  void start() override {
    ++starts_;
    host().info("hello, started " + std::to_string(starts_) + " times");
  }
  post::sdk::Bytes export_state() override { return {static_cast<std::uint8_t>(starts_)}; }
  void import_state(std::span<const std::uint8_t> state) override {
    if (state.size() == 1) starts_ = state[0];
  }

 private:
  int starts_ = 0;
};

POST_PLUGIN(Hello, "hello", "1.0.0")
