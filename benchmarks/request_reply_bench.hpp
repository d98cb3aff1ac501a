#pragma once
// The request-reply section of txova-bench: round trips through a real responder at a fixed rate.
#include <functional>
#include <string>

struct request_reply_options {
  std::string brokers;
  bool quick = false;
  int rate = 1000;  ///< requests per second
  std::function<bool(const std::string& topic, int partitions)> create_topic;
};

/// Prints "request_reply rate=<r> p50_ms=<x> p99_ms=<x> ..." (or why it could not be measured).
int run_request_reply_section(const request_reply_options& o);
